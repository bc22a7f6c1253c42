package management

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
)

// maxRoleWrites bounds the custom role writes remembered.
const maxRoleWrites = 4096

// roleWrite is a custom role definition written recently.
type roleWrite struct {
	ID      string    `json:"id"`
	T       time.Time `json:"t"`
	By      string    `json:"by"`
	ByName  string    `json:"by_name,omitempty"`
	Name    string    `json:"name,omitempty"`
	Actions []string  `json:"actions,omitempty"`
	Data    []string  `json:"data_actions,omitempty"`
	Scopes  []string  `json:"scopes,omitempty"`
	Org     string    `json:"org"`
}

// roleDefinitionBody is the part of a role definition write's request body
// that names the role and its permissions. Field names match whatever case
// the client sent (encoding/json matches case-insensitively); the AzureRM
// form carries them at the top level.
type roleDefinitionBody struct {
	Name       string `json:"name"`
	Properties struct {
		RoleName    string           `json:"roleName"`
		Permissions []rolePermission `json:"permissions"`
		Scopes      []string         `json:"assignableScopes"`
	} `json:"properties"`
	RoleName    string           `json:"roleName"`
	Actions     []string         `json:"actions"`
	DataActions []string         `json:"dataActions"`
	Permissions []rolePermission `json:"permissions"`
	Scopes      []string         `json:"assignableScopes"`
}

type rolePermission struct {
	Actions     []string `json:"actions"`
	DataActions []string `json:"dataActions"`
}

// roleAssignmentBody is the part of a role assignment write's request body
// the alert needs.
type roleAssignmentBody struct {
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Scope            string `json:"scope"`
	} `json:"properties"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType"`
	Scope            string `json:"scope"`
}

// customRole feeds custom-role-persistence: a custom role definition is
// written, then a role assignment grants a role that is not built in.
func (d *Detector) customRole(ev *audit.Event, p *principal, class opClass) {
	if ev.Result == audit.ResultFailure {
		return
	}
	switch {
	case class.has(opRoleDefinition):
		d.recordRoleWrite(ev, p)
	case class.has(opRoleAssignment):
		d.checkAssignment(ev, p)
	}
}

func (d *Detector) recordRoleWrite(ev *audit.Event, p *principal) {
	w := &roleWrite{T: ev.Time, By: p.ID, ByName: p.Name, Org: p.Org}
	id := roleGUID(ev.Resource)
	var body roleDefinitionBody
	if len(ev.RequestBody) > 0 && json.Unmarshal(unquoteBody(ev.RequestBody), &body) == nil {
		w.Name = firstNonEmpty(body.Properties.RoleName, body.RoleName)
		perms := append(body.Properties.Permissions, body.Permissions...)
		for _, pm := range perms {
			w.Actions = append(w.Actions, pm.Actions...)
			w.Data = append(w.Data, pm.DataActions...)
		}
		w.Actions = append(w.Actions, body.Actions...)
		w.Data = append(w.Data, body.DataActions...)
		w.Scopes = append(body.Properties.Scopes, body.Scopes...)
		if !isGUID(id) && isGUID(roleGUID(body.Name)) {
			id = roleGUID(body.Name)
		}
	}
	if !isGUID(id) {
		id = ""
	}
	// A built-in role cannot be written; an id from the list means the
	// resource id was not the role's.
	if _, builtin := d.builtins[id]; builtin {
		return
	}
	w.ID = id
	key := id
	if key == "" {
		key = "caller:" + p.ID
	}
	if len(d.roles) >= maxRoleWrites {
		var oldest string
		for k, r := range d.roles {
			if oldest == "" || r.T.Before(d.roles[oldest].T) {
				oldest = k
			}
		}
		delete(d.roles, oldest)
	}
	d.roles[key] = w
}

func (d *Detector) checkAssignment(ev *audit.Event, p *principal) {
	var roleID, assignee, assigneeType, scope string
	if body, ok := parseAssignment(ev.RequestBody); ok {
		roleID = firstNonEmpty(body.Properties.RoleDefinitionID, body.RoleDefinitionID)
		assignee = firstNonEmpty(body.Properties.PrincipalID, body.PrincipalID)
		assigneeType = firstNonEmpty(body.Properties.PrincipalType, body.PrincipalType)
		scope = firstNonEmpty(body.Properties.Scope, body.Scope)
	}
	if scope == "" {
		scope = assignmentScope(ev.Resource)
	}
	guid := roleGUID(roleID)
	if guid != "" {
		if _, builtin := d.builtins[guid]; builtin {
			return
		}
	}
	win := d.cfg.CustomRole.Window
	var w *roleWrite
	inferred := false
	if guid != "" {
		if r := d.roles[guid]; r != nil && within(ev.Time, r.T, win) {
			w = r
		}
	} else {
		// No body: the assignment grants an unknown role. It is taken for the
		// custom role written most recently in the organisation, preferring
		// one the same caller wrote.
		for _, r := range d.roles {
			if r.Org != p.Org || !within(ev.Time, r.T, win) {
				continue
			}
			if w == nil || preferRole(r, w, p.ID) {
				w = r
			}
		}
		inferred = w != nil
	}
	if w == nil {
		return
	}
	extra := map[string]any{
		"role_definition_id": firstNonEmpty(roleID, w.ID),
		"role_name":          w.Name,
		"role_actions":       nonNil(w.Actions),
		"role_data_actions":  nonNil(w.Data),
		"role_written_at":    w.T.UTC().Format(time.RFC3339Nano),
		"role_written_by":    w.By,
		"assignee":           assignee,
		"assignee_type":      assigneeType,
		"scope":              scope,
		"role_inferred":      inferred,
	}
	m := d.newMatch(alert.CustomRolePersistence, ev, p, extra)
	m.start = w.T
	if w.T.After(ev.Time) {
		m.start = ev.Time
	}
	d.raise(m)
}

// preferRole: a role the caller wrote beats one someone else wrote; then
// the more recent write wins.
func preferRole(r, w *roleWrite, caller string) bool {
	if rs, ws := r.By == caller, w.By == caller; rs != ws {
		return rs
	}
	return r.T.After(w.T)
}

// parseAssignment decodes a role assignment body; only events that carry
// one pay for decoding.
func parseAssignment(b []byte) (*roleAssignmentBody, bool) {
	if len(b) == 0 {
		return nil, false
	}
	body := new(roleAssignmentBody)
	if json.Unmarshal(unquoteBody(b), body) != nil {
		return nil, false
	}
	return body, true
}

// within reports whether a role written at w is recent enough at t; a write
// logged a little after the assignment (out of order within a batch) counts.
func within(t, w time.Time, win time.Duration) bool {
	dt := t.Sub(w)
	return dt <= win && dt >= -5*time.Minute
}

// assignmentScope is the scope of a role assignment resource id: what comes
// before /providers/Microsoft.Authorization/roleAssignments/.
func assignmentScope(resource string) string {
	i := strings.Index(strings.ToLower(resource), "/providers/microsoft.authorization/roleassignments")
	if i < 0 {
		return ""
	}
	if i == 0 {
		return "/"
	}
	return resource[:i]
}

// unquoteBody accepts a body logged as a JSON string holding JSON.
func unquoteBody(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			return []byte(s)
		}
	}
	return b
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		default:
			return false
		}
	}
	return true
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
