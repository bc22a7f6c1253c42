package azure

import (
	"github.com/vigil-ids/vigil/audit/auditfile/jsonfield"
)

// walk fills r from an Activity Log record without the reflection-based
// decoder: it visits the members once and converts only those Vigil uses,
// which is what lets a core read well over 100,000 records a second. It
// reads the same members, with the same leniency, as the struct tags of
// record; the fuzz test checks that both agree. Sign-in properties are
// not read here: Decode takes the struct path for sign-ins.
func walk(b []byte, r *record) error {
	end, err := jsonfield.Walk(b, func(k, rest []byte) int {
		if len(k) == 8 && jsonfield.EqualKey(k, "identity") {
			return walkIdentity(rest, &r.Identity)
		}
		n := jsonfield.ValueLen(rest)
		if n <= 0 {
			return -1
		}
		walkMember(k, rest[:n], r)
		return n
	})
	if err != nil {
		return err
	}
	for _, c := range b[end:] {
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return jsonfield.ErrMalformed
		}
	}
	return nil
}

func walkMember(k, v []byte, r *record) {
	{
		switch len(k) {
		case 4:
			if jsonfield.EqualKey(k, "time") {
				r.Time = jsonfield.TextOf(v)
			}
		case 6:
			switch {
			case jsonfield.EqualKey(k, "status"):
				r.Status = jsonfield.TextOf(v)
			case jsonfield.EqualKey(k, "caller"):
				r.Caller = jsonfield.TextOf(v)
			case jsonfield.EqualKey(k, "claims"):
				walkClaimsValue(v, &r.Claims.V)
			}
		case 8:
			switch {
			case jsonfield.EqualKey(k, "category"):
				r.Category = jsonfield.TextOf(v)
			case jsonfield.EqualKey(k, "tenantid"):
				r.TenantID = jsonfield.TextOf(v)
			}
		case 10:
			switch {
			case jsonfield.EqualKey(k, "resourceid"):
				r.ResourceID = jsonfield.TextOf(v)
			case jsonfield.EqualKey(k, "resulttype"):
				r.ResultType = jsonfield.TextOf(v)
			case jsonfield.EqualKey(k, "properties"):
				walkProperties(v, &r.Properties.V)
			}
		case 13:
			if jsonfield.EqualKey(k, "operationname") {
				r.OperationName = jsonfield.TextOf(v)
			} else if jsonfield.EqualKey(k, "timegenerated") {
				r.TimeGenerated = jsonfield.TextOf(v)
			} else if jsonfield.EqualKey(k, "correlationid") {
				r.CorrelationID = jsonfield.TextOf(v)
			}
		case 14:
			if jsonfield.EqualKey(k, "eventtimestamp") {
				r.EventTimestamp = jsonfield.TextOf(v)
			} else if jsonfield.EqualKey(k, "subscriptionid") {
				r.SubscriptionID = jsonfield.TextOf(v)
			}
		case 15:
			switch {
			case jsonfield.EqualKey(k, "resultsignature"):
				r.ResultSignature = jsonfield.TextOf(v)
			case jsonfield.EqualKey(k, "calleripaddress"):
				r.CallerIPAddress = jsonfield.TextOf(v)
			}
		case 19:
			if jsonfield.EqualKey(k, "activitystatusvalue") {
				r.ActivityStatus = jsonfield.TextOf(v)
			}
		}
	}
}

// embedded returns the object a value holds: the value itself, or the
// object a string value holds (Embedded's two forms); nil otherwise.
func embedded(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	switch v[0] {
	case '{':
		return v
	case '"':
		s := jsonfield.TextOf(v).String()
		if len(s) > 0 && s[0] == '{' {
			return []byte(s)
		}
	}
	return nil
}

// walkIdentity reads the identity value at the start of rest and
// returns its length (-1 when malformed).
func walkIdentity(rest []byte, id *identity) int {
	if len(rest) > 0 && rest[0] == '{' {
		n, err := jsonfield.Walk(rest, func(k, rest []byte) int {
			if jsonfield.EqualKey(k, "claims") && len(rest) > 0 && rest[0] == '{' {
				var tmp claims
				n, err := jsonfield.Walk(rest, func(k, rest []byte) int {
					n := jsonfield.ValueLen(rest)
					if n > 0 {
						walkClaim(k, rest[:n], &tmp)
					}
					return n
				})
				if err != nil {
					return -1
				}
				id.Claims = tmp
				return n
			}
			n := jsonfield.ValueLen(rest)
			if n > 0 && jsonfield.EqualKey(k, "claims") {
				walkClaimsValue(rest[:n], &id.Claims)
			}
			return n
		})
		if err != nil {
			return -1
		}
		return n
	}
	n := jsonfield.ValueLen(rest)
	if n > 0 && rest[0] == '"' {
		id.Name = jsonfield.TextOf(rest[:n]).String()
	}
	return n
}

func walkClaimsValue(v []byte, c *claims) {
	obj := embedded(v)
	if obj == nil {
		return
	}
	var tmp claims
	if jsonfield.Members(obj, func(k, v []byte) { walkClaim(k, v, &tmp) }) == nil {
		*c = tmp
	}
}

const (
	claimObjectID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimTenantID = "http://schemas.microsoft.com/identity/claims/tenantid"
	claimUPN      = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	claimName     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
)

func walkClaim(k, v []byte, c *claims) {
	switch len(k) {
	case 3:
		switch {
		case jsonfield.EqualKey(k, "oid"):
			c.OID = jsonfield.TextOf(v)
		case jsonfield.EqualKey(k, "tid"):
			c.TID = jsonfield.TextOf(v)
		case jsonfield.EqualKey(k, "azp"):
			c.AZP = jsonfield.TextOf(v)
		case jsonfield.EqualKey(k, "upn"):
			c.UPNShort = jsonfield.TextOf(v)
		}
	case 4:
		if jsonfield.EqualKey(k, "name") {
			c.Name = jsonfield.TextOf(v)
		}
	case 5:
		switch {
		case jsonfield.EqualKey(k, "appid"):
			c.AppID = jsonfield.TextOf(v)
		case jsonfield.EqualKey(k, "idtyp"):
			c.IDType = jsonfield.TextOf(v)
		}
	case 6:
		if jsonfield.EqualKey(k, "ipaddr") {
			c.IPAddr = jsonfield.TextOf(v)
		}
	case 8:
		if jsonfield.EqualKey(k, "appidacr") {
			c.AppIDAcr = jsonfield.TextOf(v)
		}
	case 9:
		if jsonfield.EqualKey(k, "xms_mirid") {
			c.MIResID = jsonfield.TextOf(v)
		}
	case len(claimObjectID):
		if jsonfield.EqualKey(k, claimObjectID) {
			c.ObjectID = jsonfield.TextOf(v)
		}
	case len(claimTenantID):
		if jsonfield.EqualKey(k, claimTenantID) {
			c.TenantID = jsonfield.TextOf(v)
		}
	case len(claimUPN):
		if jsonfield.EqualKey(k, claimUPN) {
			c.UPN = jsonfield.TextOf(v)
		}
	case len(claimName):
		if jsonfield.EqualKey(k, claimName) {
			c.ClaimName = jsonfield.TextOf(v)
		}
	}
}

// walkProperties reads the Activity Log members of properties.
func walkProperties(v []byte, p *properties) {
	obj := embedded(v)
	if obj == nil {
		return
	}
	var tmp properties
	if jsonfield.Members(obj, func(k, v []byte) {
		switch {
		case jsonfield.EqualKey(k, "statuscode"):
			tmp.StatusCode = jsonfield.TextOf(v)
		case jsonfield.EqualKey(k, "requestbody"):
			tmp.RequestBody = v
		case jsonfield.EqualKey(k, "responsebody"):
			tmp.ResponseBody = v
		case jsonfield.EqualKey(k, "eventdataid"):
			tmp.EventDataID = jsonfield.TextOf(v)
		case jsonfield.EqualKey(k, "createddatetime"):
			tmp.CreatedDateTime = jsonfield.TextOf(v)
		}
	}) == nil {
		*p = tmp
	}
}
