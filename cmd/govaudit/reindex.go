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
	run:       runReindex,
}

func runReindex(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
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
