package proof_test

import (
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/pkg/proof"
)

// An auditor's tool checks a proof file written by `govaudit prove` with the
// log's public key, and nothing else.
func ExampleVerify() {
	proofJSON, publicKey := sampleProof() // os.ReadFile("proof.json"), os.ReadFile("govaudit.pub")

	verifier, err := note.NewVerifier(publicKey)
	if err != nil {
		panic(err)
	}
	p, err := proof.Parse(proofJSON)
	if err != nil {
		fmt.Println("not a proof:", err)
		return
	}
	cp, err := proof.Verify(p, note.VerifierList(verifier))
	if err != nil {
		fmt.Println("INVALID:", err)
		return
	}
	fmt.Printf("record %s is leaf %d of %s/%d, in the tree of size %d signed by %s\n",
		p.Record.ID, p.LeafIndex, cp.Origin, cp.Epoch, cp.Size, cp.KeyName)

	// Any change to the record's content breaks the proof.
	p.Record.RequestModel = "gpt-3.5"
	_, err = proof.Verify(p, note.VerifierList(verifier))
	fmt.Println("altered record:", err != nil)
	// Output:
	// record rec-2 is leaf 2 of host-a/1764000000000000000, in the tree of size 5 signed by example-log
	// altered record: true
}

// A log builds a proof from node hashes: here computed from its leaf hashes
// (proof.FromLeaves); a log server could answer from stored nodes.
func ExampleNew() {
	skey, vkey, _ := auditlog.GenerateKey("example-log")
	signer, _ := note.NewSigner(skey)
	leaves := make([][]byte, 5)
	records := make([]record.Record, 5)
	tree := auditlog.NewTree()
	for i := range records {
		records[i] = record.Record{SchemaVersion: 1, ID: fmt.Sprintf("rec-%d", i), Type: record.TypeInference,
			StartTime: 1764000000000000000 + int64(i), Provider: "openai", RequestModel: "gpt-4o"}
		records[i].SetLeaf("host-a", 1764000000000000000, uint64(i))
		leaves[i] = records[i].LeafHash
		tree.Append(leaves[i])
	}
	checkpoint, _ := auditlog.Sign(signer, "host-a", 1764000000000000000, 5, tree.Root())

	p, err := proof.New(records[2], checkpoint, proof.FromLeaves(func(begin, end uint64, yield func([]byte)) error {
		for _, h := range leaves[begin:end] {
			yield(h)
		}
		return nil
	}))
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(p)
	q, _ := proof.Parse(b)
	verifier, _ := note.NewVerifier(vkey)
	_, err = proof.Verify(q, note.VerifierList(verifier))
	fmt.Println(p.Format, len(p.AuditPath), "hashes, verifies:", err == nil)
	// Output: govaudit-inclusion-proof/v2 3 hashes, verifies: true
}

// sampleProof stands for a proof file and the public key of its log.
func sampleProof() ([]byte, string) {
	skey, vkey, _ := auditlog.GenerateKey("example-log")
	signer, _ := note.NewSigner(skey)
	var leaves [][]byte
	var records []record.Record
	tree := auditlog.NewTree()
	for i := range 5 {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("rec-%d", i), Type: record.TypeInference,
			StartTime: 1764000000000000000 + int64(i), Provider: "openai", RequestModel: "gpt-4o"}
		r.SetLeaf("host-a", 1764000000000000000, uint64(i))
		records = append(records, r)
		leaves = append(leaves, r.LeafHash)
		tree.Append(r.LeafHash)
	}
	checkpoint, _ := auditlog.Sign(signer, "host-a", 1764000000000000000, 5, tree.Root())
	p, err := proof.New(records[2], checkpoint, proof.FromLeaves(func(begin, end uint64, yield func([]byte)) error {
		for _, h := range leaves[begin:end] {
			yield(h)
		}
		return nil
	}))
	if err != nil {
		panic(err)
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return b, vkey
}
