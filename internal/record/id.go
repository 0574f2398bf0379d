package record

import "github.com/google/uuid"

// NewID returns a new record id: a UUIDv7 (RFC 9562), time-ordered and unique.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil { // only if the system's random source fails
		return uuid.NewString()
	}
	return id.String()
}
