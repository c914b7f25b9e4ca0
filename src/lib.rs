//! `wi`: a doctor for Azure Workload Identity on Kubernetes.
//!
//! collect (I/O) → facts (data) → rules (pure) → report (data) → render (bytes).

pub mod collect;
pub mod demo;
pub mod doctor;
pub mod explain;
pub mod facts;
pub mod render;
pub mod report;
pub mod rules;
pub mod target;
