package management

import (
	_ "embed"
	"strings"
)

// builtinRolesText lists the Azure built-in role definition ids; see the
// header of the file for its source.
//
//go:embed builtinroles.txt
var builtinRolesText string

// builtinRoles maps a lower-case built-in role definition id to its name.
// It is built once by newBuiltinRoles and never modified.
type builtinRoles map[string]string

func newBuiltinRoles() builtinRoles {
	m := make(builtinRoles, 512)
	for _, line := range strings.Split(builtinRolesText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		id, name, _ := strings.Cut(line, "\t")
		m[strings.ToLower(strings.TrimSpace(id))] = strings.TrimSpace(name)
	}
	return m
}

// BuiltinRoleName returns the name of an Azure built-in role given its
// definition id (a GUID, or a full .../roleDefinitions/<GUID> resource id),
// and whether it is built in.
func BuiltinRoleName(roleDefinitionID string) (string, bool) {
	name, ok := sharedBuiltins[roleGUID(roleDefinitionID)]
	return name, ok
}

// sharedBuiltins is read-only after package initialisation.
var sharedBuiltins = newBuiltinRoles()

// roleGUID extracts the lower-case GUID at the end of a role definition id.
func roleGUID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimRight(id, "/")
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	return strings.ToLower(id)
}
