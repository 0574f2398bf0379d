package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"

// A step is one write step of the exporter. Each is preceded by a
// failpoint, so that tests can fail every step in turn (fault_test.go).
type step string

// The write steps, in the order a record meets them.
const (
	stepSegmentCreate   step = "segment_create"     // create a WAL segment
	stepWALWrite        step = "wal_write"          // write a WAL entry (fails after a torn half write)
	stepWALSync         step = "wal_fsync"          // fsync the WAL segment
	stepWALUndo         step = "wal_undo"           // truncate a failed entry away and fsync
	stepWALDirSync      step = "wal_dir_fsync"      // fsync the WAL directory (segment created or deleted)
	stepTempWrite       step = "temp_write"         // write the temporary data file
	stepTempSync        step = "temp_fsync"         // fsync it
	stepChmod           step = "chmod"              // make it read-only
	stepRename          step = "rename"             // rename it to its sealed name
	stepDataDirSync     step = "data_dir_fsync"     // fsync the data file's directory
	stepIndexWrite      step = "index_write"        // write the audit index
	stepCheckpointWrite step = "checkpoint_write"   // write a checkpoint file
	stepLatestWrite     step = "latest_write"       // replace latest
	stepManifestWrite   step = "manifest_write"     // write the signed manifest of the seal
	stepStateSave       step = "state_save"         // save state.json
	stepSegmentDelete   step = "wal_segment_delete" // delete the sealed file's WAL segment
)

// steps lists every step, for the fault matrix.
var steps = []step{
	stepSegmentCreate, stepWALWrite, stepWALSync, stepWALUndo, stepWALDirSync,
	stepTempWrite, stepTempSync, stepChmod, stepRename, stepDataDirSync,
	stepIndexWrite, stepCheckpointWrite, stepLatestWrite, stepManifestWrite, stepStateSave, stepSegmentDelete,
}

// A failpoint returns the error to fail step s on path with, or nil. It is
// nil in production; tests set it through newWriterHook.
type failpoint func(s step, path string) error

func (f failpoint) at(s step, path string) error {
	if f == nil {
		return nil
	}
	return f(s, path)
}

// newWriterHook, if set (by tests only), adjusts every new archiveWriter.
var newWriterHook func(*archiveWriter)
