package verify_test

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/pkg/verify"
)

// An auditor's tool verifies an archive directory with the log's public
// key (the .pub file `govaudit keygen` writes), and nothing else.
func ExampleArchive() {
	const dir = "../../internal/verify/testdata/archive-v1" // e.g. a copy of data/audit
	pub, err := os.ReadFile(dir + "/key.pub")
	if err != nil {
		panic(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		panic(err)
	}
	rep, err := verify.Archive(dir, note.VerifierList(v), nil)
	if err != nil {
		fmt.Println("cannot read the archive:", err)
		return
	}
	for _, l := range rep.Logs {
		fmt.Printf("log %s/%d: %d records, verified up to size %d\n", l.Origin, l.Epoch, l.Leaves, l.Verified)
	}
	for _, p := range rep.Problems {
		fmt.Println("FAIL", p)
	}
	fmt.Printf("%d files, %d records, %d manifests: ok %v\n", rep.Files, rep.Records, rep.Manifests, rep.OK())
	// Output:
	// log pipeline.test/1795757976425651007: 24 records, verified up to size 24
	// 4 files, 24 records, 4 manifests: ok true
}
