package verify

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/govaudit/govaudit/internal/archive"
)

// digested notes a file whose coverage by a manifest Report checks. A file
// given without digest and without error was not hashed by the caller and
// is not checked; an unreadable one (err set) is checked for being listed
// (it is already a problem of its own).
func (c *checker) digested(p string, d *archive.Digest, err error) {
	if d == nil && err == nil {
		return
	}
	if path.Base(p) == archive.LatestName && strings.Count(p, "/") == 2 && strings.HasPrefix(p, archive.CheckpointsDir+"/") {
		return // latest is replaced at every seal, and checked as a signed checkpoint
	}
	if d != nil {
		d.Path = p
	}
	c.digests[p] = d
}

// AddCoveredFile records a file checked by its digest only (an index, or a
// file that is neither a data nor a checkpoint file).
func (c *Checker) AddCoveredFile(f CoveredFile) {
	if f.Err != nil {
		c.problem(Problem{Kind: KindUnreadableFile, File: f.Path, Row: -1,
			Message: fmt.Sprintf("cannot read file: %v", f.Err)})
	}
	c.digested(f.Path, f.Digest, f.Err)
}

// AddManifest verifies one manifest file with the trusted keys; Report
// checks the chains and every file's digest against the verified ones.
func (c *Checker) AddManifest(mf ManifestFile) {
	bad := func(kind, format string, args ...any) {
		c.problem(Problem{Kind: kind, File: mf.Path, Row: -1, Message: fmt.Sprintf(format, args...)})
	}
	if mf.Err != nil {
		bad(KindManifestInvalid, "cannot read manifest: %v", mf.Err)
		return
	}
	origin, seq, err := archive.ParseManifestPath(mf.Path)
	if err != nil {
		bad(KindManifestInvalid, "unexpected file under %s/: %v", archive.ManifestsDir, err)
		return
	}
	m, _, err := archive.OpenManifest(mf.Data, c.trusted)
	switch {
	case errors.Is(err, archive.ErrMalformedManifest):
		bad(KindManifestInvalid, "signed note is not a valid manifest: %v", err)
		return
	case err != nil:
		bad(KindManifestSignature, "manifest does not verify with the trusted keys: %v", err)
		return
	case m.Origin != origin || m.Seq != seq:
		bad(KindManifestInvalid, "file holds manifest %d of origin %s, its path says %d of %s: a manifest was moved or replayed",
			m.Seq, m.Origin, seq, origin)
		return
	}
	c.rep.Manifests++
	c.manifests = append(c.manifests, openedManifest{path: mf.Path, sum: sha256.Sum256(mf.Data), m: m})
}

// listing is where a verified manifest lists a file.
type listing struct {
	d        archive.Digest
	manifest string
}

// checkDigests checks each origin's manifest chain, then every file read
// against the digests its verified manifests list.
func (c *checker) checkDigests() {
	ms := c.manifests
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].m.Origin != ms[j].m.Origin {
			return ms[i].m.Origin < ms[j].m.Origin
		}
		return ms[i].m.Seq < ms[j].m.Seq
	})
	listed := map[string]listing{}
	for i, om := range ms {
		m := om.m
		chain := func(format string, args ...any) {
			c.problem(Problem{Kind: KindManifestChain, File: om.path, Row: -1, Origin: m.Origin, Message: fmt.Sprintf(format, args...)})
		}
		first := i == 0 || ms[i-1].m.Origin != m.Origin
		switch {
		case first && m.Seq != 0:
			chain("the manifests of origin %s start at %d: manifests [0, %d) were deleted", m.Origin, m.Seq, m.Seq)
		case !first && m.Seq != ms[i-1].m.Seq+1:
			chain("manifests [%d, %d) of origin %s are missing: deleted", ms[i-1].m.Seq+1, m.Seq, m.Origin)
		case !first && m.Previous != ms[i-1].sum:
			chain("manifest %d of origin %s names previous %x, but %s has SHA-256 %x: a manifest was replaced, forked or replayed",
				m.Seq, m.Origin, m.Previous, ms[i-1].path, ms[i-1].sum)
		}
		for _, d := range m.Files {
			if l, ok := listed[d.Path]; ok && (l.d.SHA256 != d.SHA256 || l.d.Size != d.Size) {
				c.problem(Problem{Kind: KindManifestConflict, File: d.Path, Row: -1, Origin: m.Origin,
					Message: fmt.Sprintf("%s lists sha256 %x size %d, %s lists sha256 %x size %d: two signed versions of one file",
						l.manifest, l.d.SHA256, l.d.Size, om.path, d.SHA256, d.Size)})
				continue
			}
			listed[d.Path] = listing{d: d, manifest: om.path}
		}
	}

	paths := make([]string, 0, len(c.digests))
	for p := range c.digests {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		d := c.digests[p]
		l, ok := listed[p]
		switch {
		case !ok:
			c.problem(Problem{Kind: KindUncoveredFile, File: p, Row: -1,
				Message: "file is listed by no manifest that verifies with the trusted keys: no signed digest vouches for its bytes"})
		case d == nil:
			// Unreadable: already a problem naming the file.
		case d.SHA256 != l.d.SHA256 || d.Size != l.d.Size:
			c.problem(Problem{Kind: KindModifiedFile, File: p, Row: -1,
				Message: fmt.Sprintf("file has sha256 %x size %d, %s lists sha256 %x size %d: the file was modified after sealing",
					d.SHA256, d.Size, l.manifest, l.d.SHA256, l.d.Size)})
		default:
			c.rep.DigestedFiles++
		}
	}
	missing := make([]string, 0)
	for p := range listed {
		if _, ok := c.digests[p]; !ok {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		if strings.HasPrefix(p, archive.IndexDir+"/") {
			// An index is derived data that verify does not read: without
			// it queries open every file, and `govaudit reindex` rebuilds
			// it byte for byte. A changed index is a problem, a deleted one
			// a warning.
			c.rep.Warnings = append(c.rep.Warnings, Problem{Kind: KindMissingFile, File: p, Row: -1,
				Message: fmt.Sprintf("index listed by %s is not in the archive (run govaudit reindex)", listed[p].manifest)})
			continue
		}
		c.problem(Problem{Kind: KindMissingFile, File: p, Row: -1,
			Message: fmt.Sprintf("file listed by %s is not in the archive: it was deleted or moved", listed[p].manifest)})
	}
}
