package azure

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/internal/testenv"
)

// addSharedSeeds adds every line of the shared Azure samples as a seed.
func addSharedSeeds(f *testing.F) {
	dir := testenv.SharedData(f, "audit", "azure")
	paths, _ := filepath.Glob(filepath.Join(dir, "*"))
	more, _ := filepath.Glob(filepath.Join(dir, "signinlogs", "*"))
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(line) > 0 && line[0] == '{' {
				f.Add(line)
			}
		}
	}
}

// FuzzDecode checks that Decode never panics, and that the fast member
// walk reads an Activity Log record exactly as the reflection-based
// reference does whenever both accept it.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"time":"2026-01-05T09:00:00Z","operationName":"a/b/write","resourceId":"/subscriptions/S/x","resultType":"Start","correlationId":"c","identity":{"claims":` + userClaims + `},"properties":{"requestbody":"{\"a\":1}"}}`,
		`{"Time":"2026-01-05T09:00:00Z","OperationName":{"value":"x"},"Claims":"{\"oid\":\"o\"}","Properties":"{\"statusCode\":\"OK\"}"}`,
		`{"time":"2026-01-05T09:00:00Z","category":"SignInLogs","identity":"Bob","properties":{"userId":"u","status":{"errorCode":"50126"},"location":{"countryOrRegion":"de","geoCoordinates":{"latitude":"1","longitude":2}}}}`,
		`{"ti\u006de":"2026-01-05T09:00:00Z","operationName":"\ud83d\ude00 \u00e9","identity":{"claims":"not json"}}`,
		`{}`, `[]`, `{"time":1e5,"operationName":true,"properties":[1,2]}`,
	} {
		f.Add([]byte(s))
	}
	addSharedSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, ref Record
		errFast := Decode(b, &fast)
		errRef := decodeReference(b, &ref)
		if errFast != nil || errRef != nil || !utf8.Valid(b) {
			return
		}
		if d := cmp.Diff(ref, fast, cmpAddr); d != "" {
			t.Errorf("walk and reference disagree on %q (-ref +walk):\n%s", b, d)
		}
	})
}
