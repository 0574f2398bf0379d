package archive_test

import (
	"fmt"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
)

func Example() {
	t := time.Date(2026, 3, 14, 23, 59, 58, 123456789, time.UTC)
	data := archive.DataPath("collector-1.example.com", t)
	fmt.Println(data)
	fmt.Println(archive.IndexPath(data))
	fmt.Println(archive.TempPath(data))
	fmt.Println(archive.WALPath("collector-1.example.com", t))
	fmt.Println(archive.StatePath("collector-1.example.com"))
	fmt.Println(archive.UploadMarkerPath("collector-1.example.com"))
	fmt.Println(archive.CheckpointPath("collector-1.example.com", 1764182000000000000, 42))
	fmt.Println(archive.LatestPath("collector-1.example.com"))
	// Output:
	// records/origin=collector-1.example.com/date=2026-03-14/20260314T235958.123456789Z.parquet
	// index/origin=collector-1.example.com/date=2026-03-14/20260314T235958.123456789Z.json
	// records/origin=collector-1.example.com/date=2026-03-14/.20260314T235958.123456789Z.parquet.tmp
	// wal/origin=collector-1.example.com/20260314T235958.123456789Z.wal
	// wal/origin=collector-1.example.com/state.json
	// wal/origin=collector-1.example.com/uploaded.json
	// checkpoints/collector-1.example.com/1764182000000000000/42
	// checkpoints/collector-1.example.com/latest
}

func ExampleDataPath() {
	// The name and the date partition come from the same UTC time, so a file
	// opened at 01:30 in UTC+2 lands on the previous UTC day.
	t := time.Date(2026, 1, 2, 1, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))
	fmt.Println(archive.DataPath("o", t))
	// Output:
	// records/origin=o/date=2026-01-01/20260101T233000.000000000Z.parquet
}

func ExampleParseDataPath() {
	origin, t, err := archive.ParseDataPath("records/origin=o/date=2026-01-01/20260101T233000.000000000Z.parquet")
	fmt.Println(origin, t, err)
	_, _, err = archive.ParseDataPath("records/origin=o/date=2026-01-02/20260101T233000.000000000Z.parquet")
	fmt.Println(err)
	// Output:
	// o 2026-01-01 23:30:00 +0000 UTC <nil>
	// data file "records/origin=o/date=2026-01-02/20260101T233000.000000000Z.parquet": date partition "2026-01-02" disagrees with the name's date 2026-01-01
}
