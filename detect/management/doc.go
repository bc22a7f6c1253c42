// Package management raises Vigil's eight management-layer alerts from
// normalised audit events (Azure Activity Log, Entra ID sign-ins, AWS
// CloudTrail, GCP Cloud Audit Logs).
//
// A Detector keeps a profile of every principal (first and last seen, active
// days, client tools, countries, IPs and ASNs) and of every organisation
// (countries in use, addresses and networks shared by many users), and runs
// the detections on each event in time order:
//
//   - microburst-toolkit and azurite-toolkit: bursts of credential-harvesting
//     and execution actions by one caller (Azure only);
//   - inactive-account-session: a principal idle on the control plane for a
//     long time comes back with persistence actions (all clouds);
//   - powershell-session: a principal without recent PowerShell use performs
//     persistence actions from Azure PowerShell (Azure only);
//   - custom-role-persistence: a custom role is written and then granted
//     (Azure only);
//   - infrequent-country, anonymous-ip and impossible-travel: where a user
//     acts from (all clouds).
//
// Events may arrive out of order within a reorder window; the Detector
// buffers them and processes them as its watermark advances. One alert is
// raised per incident: later matching activity of the same principal extends
// the alert's End and delivers it again with the same id.
//
// The rules and their defaults are documented in docs/management-detections.md.
package management
