package main

import (
	"fmt"
	"io"

	"github.com/govaudit/govaudit/internal/archive"
)

var cmdReindex = &command{
	name:      "reindex",
	usageLine: "reindex ARCHIVE_DIR",
	short:     "rebuild the audit indexes of an archive from its data files",
	long:      "Indexes only speed up queries: verify never trusts them. Run reindex after restoring data files without their indexes. It writes into the archive, so it is refused while a collector writes it (the archive lock).",
	example:   "govaudit reindex ./data/audit",
	run:       runReindex,
}

func runReindex(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError(stderr, "want one ARCHIVE_DIR, got %d arguments", len(pos))
	}
	if err := checkArchive(pos[0]); err != nil {
		fmt.Fprintf(stderr, "govaudit reindex: %v\n", err)
		return exitUsage
	}
	n, err := archive.Reindex(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "govaudit reindex: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "rebuilt %d indexes in %s\n", n, pos[0])
	return exitOK
}
