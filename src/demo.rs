//! `wi demo`: a realistic broken workload embedded in the binary — the federated credential's
//! subject names namespace "inventroy" instead of "inventory" — diagnosed like any snapshot.

use crate::collect::{InputError, Inventory, snapshot};

pub const TARGET: &str = "deploy/stock-api";
pub const NAMESPACE: &str = "inventory";
pub const AT: &str = "2025-07-04T17:33:43Z";
pub const SCOPE: &str = "/subscriptions/4ecd035d-34ff-4252-b3cc-8e2f33f5bd49/resourceGroups/rg-inventory-prod/providers/Microsoft.KeyVault/vaults/kv-inventory-cus";

macro_rules! files {
    ($($p:literal),* $(,)?) => { &[$(($p, include_str!(concat!("demo/", $p)))),*] };
}

const FILES: &[(&str, &str)] = files![
    "azure/aks-show.json",
    "azure/fic-id-inventory-stock.json",
    "azure/identity.json",
    "azure/keyvault-show.json",
    "azure/role-assignments.json",
    "k8s/deployment-stock-api.yaml",
    "k8s/mutatingwebhookconfiguration-azure-wi-webhook-mutating-webhook-configuration.yaml",
    "k8s/namespace-inventory.yaml",
    "k8s/pod-stock-api-vhgh9ct54-fwczf.yaml",
    "k8s/pod-stock-api-vhgh9ct54-jtjrn.yaml",
    "k8s/replicaset-stock-api-vhgh9ct54.yaml",
    "k8s/serviceaccount-stock-api.yaml",
    "oidc/jwks",
    "oidc/openid-configuration",
    "token/azure-identity-token",
];

pub fn inventory() -> Result<Inventory, InputError> {
    snapshot::read_memory("demo", FILES)
}
