package mleventsreceiver

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/govaudit/govaudit/receiver/mleventsreceiver/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, metadata.LogsStability, f.LogsStability())
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = freeAddr(t)
	set := receivertest.NewNopSettings(metadata.Type)

	first, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, first.Start(context.Background(), componenttest.NewNopHost()))

	// A second receiver on the same endpoint fails to start instead of
	// silently not listening.
	second, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.ErrorContains(t, second.Start(context.Background(), componenttest.NewNopHost()), "address already in use")
	assert.NoError(t, second.Shutdown(context.Background()))

	require.NoError(t, first.Shutdown(context.Background()))
	// The port is free again after shutdown.
	third, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, third.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, third.Shutdown(context.Background()))
}

func TestAuthExtensionMissing(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = freeAddr(t)
	cfg.Auth = authConfig()
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.ErrorContains(t, rcv.Start(context.Background(), componenttest.NewNopHost()), `failed to resolve authenticator "tokenauth"`)
	assert.NoError(t, rcv.Shutdown(context.Background()))
}

// TestDeprecatedAttributesSize: the old key max_attributes_size still sets
// max_attributes_bytes, and creating the receiver warns to rename it.
func TestDeprecatedAttributesSize(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"max_attributes_size": 2048}).Unmarshal(cfg))
	assert.Equal(t, 2048, cfg.MaxAttributesBytes)
	core, logs := observer.New(zap.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	_, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.Equal(t, 1, logs.FilterMessage("max_attributes_size is deprecated: rename it max_attributes_bytes").Len())
}
