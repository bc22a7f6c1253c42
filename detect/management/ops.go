package management

import (
	"strings"

	"github.com/vigil-ids/vigil/audit"
)

// opFlags classify an operation for the detections.
type opFlags uint16

const (
	// opToolkit: a credential-harvesting or execution action of the kind
	// MicroBurst bursts (its kind is in opClass.kind).
	opToolkit opFlags = 1 << iota
	// opPublishXML: a web app publishing-profile download (Azurite).
	opPublishXML
	// opPersistence: an action that can secure persistence.
	opPersistence
	// opRoleAssignment: an Azure role assignment write.
	opRoleAssignment
	// opRoleDefinition: an Azure role definition write.
	opRoleDefinition
	// opDeployment: an ARM deployment; the operations it makes share its
	// correlation id and are not a toolkit's footprint.
	opDeployment
)

// opClass is the classification of one operation name.
type opClass struct {
	flags opFlags
	// kind names the kind of resource a toolkit action touches.
	kind string
}

func (c opClass) has(f opFlags) bool { return c.flags&f != 0 }

// Kinds of resource for the toolkit detections.
const (
	kindStorage    = "storage"
	kindWeb        = "web-app"
	kindFunction   = "function-app"
	kindRegistry   = "container-registry"
	kindKeyVault   = "key-vault"
	kindAKS        = "kubernetes"
	kindVM         = "virtual-machine"
	kindAutomation = "automation"
	kindCosmos     = "cosmos-db"
	kindServiceBus = "service-bus"
	kindEventHub   = "event-hub"
	kindRedis      = "redis"
)

// azureOps holds the Azure operations, by lower-case operation name, that the
// detections single out. Anything else ending in a list-keys or
// list-credentials action is a toolkit action of its provider's kind (see
// classifyAzure).
var azureOps = map[string]opClass{
	"microsoft.storage/storageaccounts/listkeys/action":                               {opToolkit, kindStorage},
	"microsoft.storage/storageaccounts/listaccountsas/action":                         {opToolkit, kindStorage},
	"microsoft.classicstorage/storageaccounts/listkeys/action":                        {opToolkit, kindStorage},
	"microsoft.web/sites/publishxml/action":                                           {opToolkit | opPublishXML, kindWeb},
	"microsoft.web/sites/slots/publishxml/action":                                     {opToolkit | opPublishXML, kindWeb},
	"microsoft.web/sites/config/list/action":                                          {opToolkit, kindWeb},
	"microsoft.web/sites/slots/config/list/action":                                    {opToolkit, kindWeb},
	"microsoft.web/sites/host/listkeys/action":                                        {opToolkit, kindFunction},
	"microsoft.web/sites/host/default/listkeys/action":                                {opToolkit, kindFunction},
	"microsoft.web/sites/functions/listkeys/action":                                   {opToolkit, kindFunction},
	"microsoft.web/sites/functions/listsecrets/action":                                {opToolkit, kindFunction},
	"microsoft.web/sites/host/listsyncfunctiontriggerstatus/action":                   {},
	"microsoft.containerregistry/registries/listcredentials/action":                   {opToolkit, kindRegistry},
	"microsoft.keyvault/vaults/accesspolicies/write":                                  {opToolkit, kindKeyVault},
	"microsoft.containerservice/managedclusters/listclusteradmincredential/action":    {opToolkit, kindAKS},
	"microsoft.containerservice/managedclusters/accessprofiles/listcredential/action": {opToolkit, kindAKS},
	"microsoft.compute/virtualmachines/runcommand/action":                             {opToolkit | opPersistence, kindVM},
	"microsoft.compute/virtualmachines/runcommands/write":                             {opToolkit | opPersistence, kindVM},
	"microsoft.compute/virtualmachinescalesets/virtualmachines/runcommand/action":     {opToolkit | opPersistence, kindVM},
	"microsoft.automation/automationaccounts/runbooks/write":                          {opToolkit | opPersistence, kindAutomation},
	"microsoft.automation/automationaccounts/runbooks/draft/write":                    {opToolkit | opPersistence, kindAutomation},
	"microsoft.automation/automationaccounts/runbooks/draft/testjob/write":            {opToolkit | opPersistence, kindAutomation},
	"microsoft.automation/automationaccounts/runbooks/publish/action":                 {opToolkit | opPersistence, kindAutomation},
	"microsoft.automation/automationaccounts/jobs/write":                              {opToolkit, kindAutomation},
	"microsoft.automation/automationaccounts/webhooks/write":                          {opPersistence, ""},
	"microsoft.documentdb/databaseaccounts/listkeys/action":                           {opToolkit, kindCosmos},
	"microsoft.documentdb/databaseaccounts/readonlykeys/action":                       {opToolkit, kindCosmos},
	"microsoft.documentdb/databaseaccounts/listconnectionstrings/action":              {opToolkit, kindCosmos},
	"microsoft.servicebus/namespaces/authorizationrules/listkeys/action":              {opToolkit, kindServiceBus},
	"microsoft.servicebus/namespaces/queues/authorizationrules/listkeys/action":       {opToolkit, kindServiceBus},
	"microsoft.servicebus/namespaces/topics/authorizationrules/listkeys/action":       {opToolkit, kindServiceBus},
	"microsoft.eventhub/namespaces/authorizationrules/listkeys/action":                {opToolkit, kindEventHub},
	"microsoft.eventhub/namespaces/eventhubs/authorizationrules/listkeys/action":      {opToolkit, kindEventHub},
	"microsoft.cache/redis/listkeys/action":                                           {opToolkit, kindRedis},

	"microsoft.authorization/roleassignments/write":                                       {opPersistence | opRoleAssignment, ""},
	"microsoft.authorization/roleassignmentschedulerequests/write":                        {opPersistence, ""},
	"microsoft.authorization/roleeligibilityschedulerequests/write":                       {opPersistence, ""},
	"microsoft.authorization/roledefinitions/write":                                       {opPersistence | opRoleDefinition, ""},
	"microsoft.authorization/elevateaccess/action":                                        {opPersistence, ""},
	"microsoft.managedidentity/userassignedidentities/write":                              {opPersistence, ""},
	"microsoft.managedidentity/userassignedidentities/assign/action":                      {opPersistence, ""},
	"microsoft.managedidentity/userassignedidentities/federatedidentitycredentials/write": {opPersistence, ""},
	"microsoft.compute/virtualmachines/extensions/write":                                  {opPersistence, ""},
	"microsoft.compute/virtualmachinescalesets/extensions/write":                          {opPersistence, ""},
	"microsoft.hybridcompute/machines/extensions/write":                                   {opPersistence, ""},
	"microsoft.hybridcompute/machines/runcommands/write":                                  {opPersistence, ""},

	"microsoft.resources/deployments/write":                                                            {opDeployment, ""},
	"microsoft.resources/deployments/validate/action":                                                  {opDeployment, ""},
	"microsoft.resources/deployments/whatif/action":                                                    {opDeployment, ""},
	"microsoft.resources/subscriptions/resourcegroups/providers/microsoft.resources/deployments/write": {opDeployment, ""},
}

// awsPersistence lists CloudTrail events (lower case) that can secure
// persistence in an AWS account.
var awsPersistence = map[string]bool{
	"createaccesskey":        true,
	"createuser":             true,
	"createloginprofile":     true,
	"updateloginprofile":     true,
	"attachuserpolicy":       true,
	"putuserpolicy":          true,
	"updateassumerolepolicy": true,
	"attachrolepolicy":       true,
	"putrolepolicy":          true,
	"attachgrouppolicy":      true,
	"putgrouppolicy":         true,
	"addusertogroup":         true,
	"createpolicyversion":    true,
}

// gcpPersistenceSuffixes match GCP methodNames (lower case) that can secure
// persistence in a project; methods are fully qualified
// (google.iam.admin.v1.CreateServiceAccountKey) or short (SetIamPolicy).
var gcpPersistenceSuffixes = []string{
	"setiampolicy",
	"createserviceaccountkey",
	"uploadserviceaccountkey",
	"createserviceaccount",
}

// classify returns the classification of an event's operation.
func classify(cloud audit.Cloud, key string) opClass {
	switch cloud {
	case audit.CloudAWS:
		if awsPersistence[key] {
			return opClass{flags: opPersistence}
		}
		return opClass{}
	case audit.CloudGCP:
		for _, s := range gcpPersistenceSuffixes {
			if strings.HasSuffix(key, s) {
				return opClass{flags: opPersistence}
			}
		}
		return opClass{}
	}
	if c, ok := azureOps[key]; ok {
		return c
	}
	return classifyAzureGeneric(key)
}

// classifyAzureGeneric recognises the other credential-listing actions
// (Cognitive Services listKeys, Batch listKeys, Search listAdminKeys, SignalR
// listKeys, ...): an action whose verb lists keys, credentials, secrets or
// connection strings. Its kind is the resource provider and type.
func classifyAzureGeneric(key string) opClass {
	if !strings.HasSuffix(key, "/action") {
		return opClass{}
	}
	verb := key[:len(key)-len("/action")]
	i := strings.LastIndexByte(verb, '/')
	if i < 0 {
		return opClass{}
	}
	verb = verb[i+1:]
	if !strings.HasPrefix(verb, "list") {
		return opClass{}
	}
	if !strings.Contains(verb, "key") && !strings.Contains(verb, "credential") &&
		!strings.Contains(verb, "secret") && !strings.Contains(verb, "connectionstring") {
		return opClass{}
	}
	// kind: provider namespace and top-level resource type.
	kind := key
	if j := strings.IndexByte(kind, '/'); j >= 0 {
		if k := strings.IndexByte(kind[j+1:], '/'); k >= 0 {
			kind = kind[:j+1+k]
		}
	}
	return opClass{flags: opToolkit, kind: kind}
}
