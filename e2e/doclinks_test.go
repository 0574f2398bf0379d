package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocLinks: every relative link of the README, docs/ and the component
// READMEs names a file or directory of the repository, and no reference
// definition is empty (mdatagen writes the status table's "[govaudit]: "
// without a target; make generate points it at builder-config.yaml).
func TestDocLinks(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../README.md", "../docs/*.md", "../*/*/README.md", "../examples/*/README.md", "../deploy/*/README.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d markdown files: %v", len(files), files)
	}
	inline := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	refDef := regexp.MustCompile(`(?m)^\[[^\]]+\]:[ \t]*(\S*)[ \t]*$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var targets []string
		for _, m := range inline.FindAllStringSubmatch(string(b), -1) {
			targets = append(targets, m[1])
		}
		for _, m := range refDef.FindAllStringSubmatch(string(b), -1) {
			if m[1] == "" {
				t.Errorf("%s: reference definition %q has no target", f, strings.TrimSpace(m[0]))
				continue
			}
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			p, _, _ := strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), filepath.FromSlash(p))); err != nil {
				t.Errorf("%s: link %q: %v", f, target, err)
			}
		}
	}
}
