//go:build tools

// Package tools pins mdatagen, the collector's metadata generator, at
// v0.155.0: the newest version that builds as a tool here. It lives in its
// own module so its dependencies never mix with the distribution's.
package tools

import _ "go.opentelemetry.io/collector/cmd/mdatagen"
