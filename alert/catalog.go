package alert

// Detection describes one alert type. The ids are a public contract.
type Detection struct {
	Type        string   `json:"type"`
	Layer       string   `json:"layer"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    string   `json:"severity"`
	Mitre       []string `json:"mitre"`
	Remediation string   `json:"remediation"`
	// Identity marks the identity analytics (impossible travel, infrequent
	// country, anonymous IP) that a subscription can opt out of as a group.
	Identity bool `json:"identity,omitempty"`
	// Clouds lists the clouds whose logs can raise it.
	Clouds []string `json:"clouds,omitempty"`
}

// The alert type ids.
const (
	OutgoingRDP      = "outgoing-rdp"
	OutgoingRDPMulti = "outgoing-rdp-multi"
	OutgoingSSH      = "outgoing-ssh"
	OutgoingSSHMulti = "outgoing-ssh-multi"
	IncomingSSH      = "incoming-ssh"
	IncomingSSHMulti = "incoming-ssh-multi"
	IncomingRDP      = "incoming-rdp"
	IncomingRDPMulti = "incoming-rdp-multi"
	MaliciousAddress = "malicious-address"

	MicroBurstToolkit      = "microburst-toolkit"
	AzuriteToolkit         = "azurite-toolkit"
	InactiveAccountSession = "inactive-account-session"
	PowerShellSession      = "powershell-session"
	CustomRolePersistence  = "custom-role-persistence"
	InfrequentCountry      = "infrequent-country"
	AnonymousIP            = "anonymous-ip"
	ImpossibleTravel       = "impossible-travel"
)

var (
	allClouds  = []string{"azure", "aws", "gcp"}
	azureOnly  = []string{"azure"}
	bruteForce = []string{"T1110", "T1110.001", "T1110.003"}
	remBrute   = "Restrict the port to known sources (just-in-time access, a bastion or a VPN), enforce key or strong-password authentication with lockout, and review the resource's authentication logs for a successful login."
	remOutBF   = "Treat the resource as compromised: isolate it, find the process that opens the connections, rotate its credentials and rebuild it from a known-good image."
)

// Catalog lists the 17 detections in a stable order.
var catalog = []Detection{
	{Type: OutgoingRDP, Layer: LayerNetwork, Severity: SeverityHigh, Mitre: bruteForce, Remediation: remOutBF,
		Title:       "Suspicious outgoing RDP network activity",
		Description: "The resource made an anomalous number of outgoing RDP connections to one or a few external endpoints. It is likely compromised and brute-forcing them."},
	{Type: OutgoingRDPMulti, Layer: LayerNetwork, Severity: SeverityHigh, Mitre: bruteForce, Remediation: remOutBF,
		Title:       "Suspicious outgoing RDP network activity to multiple destinations",
		Description: "The resource made outgoing RDP connections to an anomalous number of distinct destinations. It is likely compromised and scanning or brute-forcing them."},
	{Type: OutgoingSSH, Layer: LayerNetwork, Severity: SeverityMedium, Mitre: bruteForce, Remediation: remOutBF,
		Title:       "Suspicious outgoing SSH network activity",
		Description: "The resource made an anomalous number of outgoing SSH connections to one or a few external endpoints. It is likely compromised and brute-forcing them."},
	{Type: OutgoingSSHMulti, Layer: LayerNetwork, Severity: SeverityMedium, Mitre: bruteForce, Remediation: remOutBF,
		Title:       "Suspicious outgoing SSH network activity to multiple destinations",
		Description: "The resource made outgoing SSH connections to an anomalous number of distinct destinations. It is likely compromised and scanning or brute-forcing them."},
	{Type: IncomingSSH, Layer: LayerNetwork, Severity: SeverityMedium, Mitre: bruteForce, Remediation: remBrute,
		Title:       "Suspicious incoming SSH network activity",
		Description: "The resource received an anomalously high number of incoming SSH connections from one or a few sources, a sign of brute force."},
	{Type: IncomingSSHMulti, Layer: LayerNetwork, Severity: SeverityMedium, Mitre: bruteForce, Remediation: remBrute,
		Title:       "Suspicious incoming SSH network activity from multiple sources",
		Description: "The resource received incoming SSH connections from an anomalous number of distinct sources, a sign of a distributed (botnet) brute force."},
	{Type: IncomingRDP, Layer: LayerNetwork, Severity: SeverityMedium, Mitre: bruteForce, Remediation: remBrute,
		Title:       "Suspicious incoming RDP network activity",
		Description: "The resource received an anomalously high number of incoming RDP connections from one or a few sources, a sign of brute force."},
	{Type: IncomingRDPMulti, Layer: LayerNetwork, Severity: SeverityMedium, Mitre: bruteForce, Remediation: remBrute,
		Title:       "Suspicious incoming RDP network activity from multiple sources",
		Description: "The resource received incoming RDP connections from an anomalous number of distinct sources, a sign of a distributed (botnet) brute force."},
	{Type: MaliciousAddress, Layer: LayerNetwork, Severity: SeverityMedium, Mitre: []string{"T1071", "T1571"},
		Title:       "Network communication with a malicious address has been detected",
		Description: "The resource communicated with an address that a threat-intelligence feed lists as command-and-control or otherwise malicious.",
		Remediation: "Find the process that talks to the address, block the address at the network edge, and check the resource for malware."},

	{Type: MicroBurstToolkit, Layer: LayerManagement, Severity: SeverityHigh, Clouds: azureOnly, Mitre: []string{"T1087.004", "T1552.001", "T1651"},
		Title:       "MicroBurst toolkit run",
		Description: "One caller harvested credentials and ran commands across several kinds of resource within minutes, the footprint of the MicroBurst toolkit (Get-AzPasswords, Invoke-AzVMBulkCMD).",
		Remediation: "Revoke the caller's sessions and credentials, rotate every key and secret the operations listed, and review the commands run on virtual machines."},
	{Type: AzuriteToolkit, Layer: LayerManagement, Severity: SeverityHigh, Clouds: azureOnly, Mitre: []string{"T1087.004", "T1552.001", "T1651"},
		Title:       "Azurite toolkit run",
		Description: "One caller downloaded publishing profiles of many web apps within minutes from PowerShell, the footprint of Azurite Explorer.",
		Remediation: "Revoke the caller's sessions, reset the publishing credentials of the web apps listed, and review deployments made since."},
	{Type: InactiveAccountSession, Layer: LayerManagement, Severity: SeverityMedium, Clouds: allClouds, Mitre: []string{"T1078.004"},
		Title:       "Suspicious management session using an inactive account",
		Description: "A principal with no control-plane activity for a long time came back and performed actions that can secure persistence.",
		Remediation: "Confirm with the account's owner; if unexpected, disable the account, revoke its sessions and undo the persistence actions listed."},
	{Type: PowerShellSession, Layer: LayerManagement, Severity: SeverityMedium, Clouds: azureOnly, Mitre: []string{"T1059.001"},
		Title:       "Suspicious management session using PowerShell",
		Description: "A principal that does not regularly use PowerShell used it to perform actions that can secure persistence.",
		Remediation: "Confirm with the principal's owner; if unexpected, revoke its sessions and undo the persistence actions listed."},
	{Type: CustomRolePersistence, Layer: LayerManagement, Severity: SeverityHigh, Clouds: azureOnly, Mitre: []string{"T1098.003"},
		Title:       "Use of advanced Azure persistence techniques",
		Description: "A custom role was created or updated and granted to an identity, a way to keep privileged access that built-in role reviews miss.",
		Remediation: "Review the custom role's permissions and the assignment; remove both if they were not approved."},
	{Type: InfrequentCountry, Layer: LayerManagement, Severity: SeverityLow, Clouds: allClouds, Identity: true, Mitre: []string{"T1078.004"},
		Title:       "Activity from infrequent country",
		Description: "Activity came from a country that no user in the organisation has used recently, or ever.",
		Remediation: "Confirm the activity with the user; if unexpected, revoke the sessions and reset the credentials."},
	{Type: AnonymousIP, Layer: LayerManagement, Severity: SeverityMedium, Clouds: allClouds, Identity: true, Mitre: []string{"T1090.003"},
		Title:       "Activity from anonymous IP addresses",
		Description: "Activity came from an IP address of an anonymity service (Tor exit, anonymising proxy or VPN service).",
		Remediation: "Confirm the activity with the user; if unexpected, revoke the sessions, reset the credentials and require MFA."},
	{Type: ImpossibleTravel, Layer: LayerManagement, Severity: SeverityMedium, Clouds: allClouds, Identity: true, Mitre: []string{"T1078.004"},
		Title:       "Impossible travel detected",
		Description: "Two activities of one user came from places too far apart for the time between them.",
		Remediation: "Confirm both activities with the user; if one is unexpected, revoke the sessions and reset the credentials."},
}

// Catalog returns the 17 detections in a stable order. The slice is a copy.
func Catalog() []Detection {
	out := make([]Detection, len(catalog))
	copy(out, catalog)
	return out
}

// Lookup returns the detection of a type.
func Lookup(typ string) (Detection, bool) {
	for _, d := range catalog {
		if d.Type == typ {
			return d, true
		}
	}
	return Detection{}, false
}
