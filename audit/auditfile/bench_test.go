package auditfile

import (
	"bytes"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/audit"
)

// activityRecord renders one Activity Log record in the storage-account
// schema with a user's full token claims: 2.6 KB, the mean size of the
// simulator's Activity Log records.
func activityRecord(i int, stage, sig string, t time.Time) string {
	return fmt.Sprintf(`{"time":"%s","resourceId":"/SUBSCRIPTIONS/6A0B2C3D-1111-4222-8333-944445555666/RESOURCEGROUPS/RG-PROD-%02d/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/STPROD%04d","operationName":"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION","category":"Administrative","resultType":"%s","resultSignature":"%s","durationMs":%d,"callerIpAddress":"203.0.113.%d","correlationId":"0f1e2d3c-4b5a-4697-8a9b-%012d","identity":{"authorization":{"scope":"/subscriptions/6a0b2c3d-1111-4222-8333-944445555666/resourceGroups/rg-prod-%02d/providers/Microsoft.Storage/storageAccounts/stprod%04d","action":"Microsoft.Storage/storageAccounts/listKeys/action","evidence":{"role":"Contributor","roleAssignmentScope":"/subscriptions/6a0b2c3d-1111-4222-8333-944445555666","roleAssignmentId":"8e3af657a8ff443ca75c2fe8c4bcb635","roleDefinitionId":"b24988ac618042a0ab8820f7382dd24c","principalId":"3f2504e04f8941d39a0c0305e82c3301","principalType":"User"}},"claims":{"aud":"https://management.core.windows.net/","iss":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/","iat":"1700000000","nbf":"1700000000","exp":"1700004500","http://schemas.microsoft.com/claims/authnclassreference":"1","aio":"AVQAq/8VAAAAexampleexampleexample","appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","appidacr":"0","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname":"Martin","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname":"Alice","http://schemas.microsoft.com/identity/claims/identityprovider":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/","ipaddr":"203.0.113.%d","name":"Alice Martin","http://schemas.microsoft.com/identity/claims/objectidentifier":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","puid":"10032001C0FFEE00","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier":"d7kE3example_nameidentifier_value_abcdef","http://schemas.microsoft.com/identity/claims/tenantid":"72f988bf-86f1-41af-91ab-2d7cd011db47","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":"alice@contoso.com","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"alice@contoso.com","uti":"Xy12exampleUTIvalue","ver":"1.0"}},"level":"Informational","location":"global","properties":{"statusCode":"OK","serviceRequestId":null,"eventCategory":"Administrative","entity":"/subscriptions/6a0b2c3d-1111-4222-8333-944445555666/resourceGroups/rg-prod-%02d/providers/Microsoft.Storage/storageAccounts/stprod%04d","message":"Microsoft.Storage/storageAccounts/listKeys/action","hierarchy":"72f988bf-86f1-41af-91ab-2d7cd011db47/6a0b2c3d-1111-4222-8333-944445555666"}}`,
		t.Format("2006-01-02T15:04:05.0000000Z"), i%50, i%9000, stage, sig, i%4000, i%250+1, i, i%50, i%9000, i%250+1, i%50, i%9000)
}

// activityLog renders n records as JSON lines: each operation's Start
// followed by its Success.
func activityLog(n int) []byte {
	var b bytes.Buffer
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		op := i / 2
		t := t0.Add(time.Duration(op) * time.Second)
		if i%2 == 0 {
			b.WriteString(activityRecord(op, "Start", "Started.", t))
		} else {
			b.WriteString(activityRecord(op, "Success", "Succeeded.OK", t.Add(700*time.Millisecond)))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkActivityLog measures Activity Log reading (framing, decoding,
// normalisation, pairing) on one core; run it with -cpu 1.
func BenchmarkActivityLog(b *testing.B) {
	const n = 4096
	data := activityLog(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	events := 0
	cpu0 := cpuTime()
	for b.Loop() {
		sum, err := Read(bytes.NewReader(data), "bench", func(*audit.Event) { events++ })
		if err != nil || sum.AzureActivity != n {
			b.Fatalf("%+v %v", sum, err)
		}
	}
	sec := b.Elapsed().Seconds()
	cpu := (cpuTime() - cpu0).Seconds()
	b.ReportMetric(float64(n*b.N)/sec, "records/s")
	// On a shared machine wall time includes waiting for the CPU; the
	// process's own CPU time gives the rate a dedicated core reaches.
	b.ReportMetric(float64(n*b.N)/cpu, "records/cpu-s")
	b.ReportMetric(float64(len(data)*b.N)/cpu/1e6, "MB/cpu-s")
	b.ReportMetric(float64(len(data))/n, "bytes/record")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
}

// BenchmarkCloudTrail measures CloudTrail reading: a gzipped
// {"Records":[…]} file of console and API calls, as S3 receives them.
func BenchmarkCloudTrail(b *testing.B) {
	const n = 2000
	var buf bytes.Buffer
	buf.WriteString(`{"Records":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice@example.com","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE%06d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef","accountId":"111122223333","userName":"AWSReservedSSO_Admin_0123456789abcdef"},"attributes":{"creationDate":"2026-01-05T08:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-01-05T09:%02d:%02dZ","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.%d","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/iam.create-access-key","requestParameters":{"userName":"svc-%d"},"responseElements":{"accessKey":{"accessKeyId":"AKIAEXAMPLE%06d","status":"Active","userName":"svc-%d","createDate":"Jan 5, 2026 9:00:00 AM"}},"requestID":"0f1e2d3c-4b5a-4697-8a9b-%012d","eventID":"1f1e2d3c-4b5a-4697-8a9b-%012d","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}`,
			i, (i/60)%60, i%60, i%250+1, i, i, i, i, i)
	}
	buf.WriteString(`]}`)
	raw := buf.Len()
	data := []byte(gz(buf.String()))
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		sum, err := Read(bytes.NewReader(data), "bench", func(*audit.Event) {})
		if err != nil || sum.CloudTrail != n {
			b.Fatalf("%+v %v", sum, err)
		}
	}
	cpu := (cpuTime() - cpu0).Seconds()
	b.ReportMetric(float64(n*b.N)/cpu, "records/cpu-s")
	b.ReportMetric(float64(raw)/n, "bytes/record")
}
