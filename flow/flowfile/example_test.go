package flowfile_test

import (
	"fmt"
	"os"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
)

func ExampleReadFile() {
	sum, err := flowfile.ReadFile("../flowlog/testdata/vpc-noheader.log", flowfile.Options{}, func(r *flow.Record) {
		fmt.Println(r.Format, r.SrcAddr, "->", r.DstAddr, r.DstPort, r.Action, r.Packets, r.Bytes)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Print(sum.String())
	// Output:
	// aws-vpc 10.0.2.10 -> 10.0.3.20 5432 allow 22 3100
	// aws-vpc 10.0.3.20 -> 10.0.2.10 58812 allow 20 48211
	// files: 1
	// inputs:
	//   aws-vpc-flow-log                         records=2 messages=3
	//     skipped NODATA: 1
	// formats:
	//   aws-vpc                                  records=2
	// exporters:
	//   aws-vpc:123456789012                     records=2
}
