// Package mgmt simulates an organisation's cloud control plane over
// months: users with homes, habits, tools and travel, service principals
// and managed identities, dormant and new accounts, and the management
// incidents that Vigil's detections must find, each beside a benign
// look-alike. It writes the Azure Activity Log (storage-account blobs and
// Event Hub batches), Entra ID sign-in logs, AWS CloudTrail and GCP Cloud
// Audit Logs in the formats the clouds export, and returns the labelled
// incidents for truth.jsonl.
//
// Layout under the output directory, as the clouds deliver it:
//
//	azure/activitylog/insights-activity-logs/resourceId=/SUBSCRIPTIONS/<SUB>/y=/m=/d=/h=/m=00/PT1H.json
//	    storage-account export: JSON lines (the first subscription) or
//	    {"records":[...]} objects (the second)
//	azure/eventhub/insights-activity-logs/<sub>/<date>/<hour>.json
//	    Event Hub messages, one {"records":[...]} batch per line (the last)
//	azure/signinlogs/insights-logs-{signinlogs,noninteractiveusersigninlogs,serviceprincipalsigninlogs}/tenantId=<tenant>/y=/m=/d=/h=/m=00/PT1H.json
//	aws/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>Z_<id>.json.gz
//	gcp/cloudaudit.googleapis.com/activity/YYYY/MM/DD/HH:00:00_HH:59:59_S0.json
//
// An Azure operation is logged as its Start, Accept (asynchronous writes)
// and Success or Failure records sharing a correlation id; a template
// deployment and the writes it makes share one correlation id, so records
// pair only by (correlationId, operationName, resourceId). Some records
// carry upper- or lower-case operation names and resource ids, and request
// bodies as strings or objects.
//
// Output is deterministic for a seed. Labels follow the management
// detection rules: scripted incidents for the toolkit and custom-role
// types, and a reference pass over the generated events for the
// inactivity, PowerShell and location types, so that a side effect of the
// simulation (a traveller reaching a country nobody uses, say) is labelled
// rather than left as a false alarm.
package mgmt

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ids/vigil/sim/world"
)

// Config says what to simulate.
type Config struct {
	// Seed makes the run deterministic.
	Seed int64
	// Start and End bound the simulated history; at least MinHistory.
	Start, End time.Time
	// Tenant is the Entra ID tenant id; derived from the seed when empty.
	Tenant string
	// Subscriptions are the Azure subscription ids; three derived from
	// the seed when empty.
	Subscriptions []string
	// Users is the number of ordinary human users (before Scale).
	Users int
	// Scale multiplies the background population and volume (1 = the
	// default estate); incidents are the same at every scale.
	Scale int
	// World is the simulated internet; world.New(Seed) when nil.
	World *world.World
}

// MinHistory is the shortest history Generate accepts: the dormant-account
// and PowerShell detections need 30 and 45 days of look-back, plus a
// learning week.
const MinHistory = 70 * 24 * time.Hour

// ErrConfig reports an unusable configuration.
var ErrConfig = errors.New("mgmt: invalid config")

// DefaultConfig returns the default estate: 75 days ending at end,
// 40 users, scale 1.
func DefaultConfig(seed int64, end time.Time) Config {
	end = end.UTC().Truncate(24 * time.Hour)
	return Config{Seed: seed, Start: end.Add(-75 * 24 * time.Hour), End: end, Users: 40, Scale: 1}
}

func (c *Config) normalise() error {
	if c.Users == 0 {
		c.Users = 40
	}
	if c.Scale == 0 {
		c.Scale = 1
	}
	if c.Users < 30 || c.Scale < 1 {
		return fmt.Errorf("%w: need at least 30 users and scale 1 (got %d, %d)", ErrConfig, c.Users, c.Scale)
	}
	c.Start, c.End = c.Start.UTC().Truncate(24*time.Hour), c.End.UTC().Truncate(24*time.Hour)
	if c.End.Sub(c.Start) < MinHistory {
		return fmt.Errorf("%w: history of %s is shorter than %s", ErrConfig, c.End.Sub(c.Start), MinHistory)
	}
	if c.World == nil {
		c.World = world.New(c.Seed)
	}
	return nil
}
