package mleventsreceiver

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/govaudit/govaudit/receiver/mleventsreceiver/internal/metadata"
)

// TestInsecureOptOutLogged: insecure_allow_unauthenticated on a
// non-loopback endpoint passes Validate and is logged as a warning for each
// open path at start; on loopback (the quickstart) nothing is logged. The
// non-loopback endpoint is a TEST-NET address this host cannot listen on, so
// the test never listens beyond 127.0.0.1: the warnings come before the
// listener, and Start then fails.
func TestInsecureOptOutLogged(t *testing.T) {
	for _, c := range []struct {
		endpoint string
		warnings []string
	}{
		{"192.0.2.1:0", []string{
			"mlflow path accepts unsigned, unauthenticated deliveries from the network (insecure_allow_unauthenticated): set mlflow::secret",
			"cloudevents path accepts unauthenticated events from the network (insecure_allow_unauthenticated): set auth"}},
		{freeAddr(t), nil},
	} {
		t.Run(c.endpoint, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.NetAddr.Endpoint = c.endpoint
			if c.warnings != nil {
				require.Error(t, cfg.Validate(), "non-loopback without auth must be refused without the opt-out")
			}
			cfg.InsecureAllowUnauthenticated = true
			require.NoError(t, cfg.Validate())
			core, logs := observer.New(zap.WarnLevel)
			set := receivertest.NewNopSettings(metadata.Type)
			set.Logger = zap.New(core)
			rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
			require.NoError(t, err)
			err = rcv.Start(context.Background(), componenttest.NewNopHost())
			if c.warnings == nil {
				require.NoError(t, err)
			}
			assert.NoError(t, rcv.Shutdown(context.Background()))
			var got []string
			for _, e := range logs.All() {
				got = append(got, e.Message)
			}
			assert.Equal(t, c.warnings, got)
		})
	}
}
