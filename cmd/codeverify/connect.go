package main

import (
	"context"
	"fmt"

	"github.com/codeverify/codeverify/streams"
)

// One-shot commands (topics, produce, produce-prompts, synthesize, train) give up on the broker
// after --connect-timeout with one line naming every bootstrap address and its cause; the
// long-running processors keep retrying instead, as a service should.

// brokersReachable returns nil once one bootstrap address answers, or the error after the connect
// timeout.
func (a *app) brokersReachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ConnectTimeout)
	defer cancel()
	if err := streams.Reachable(ctx, a.cluster()); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (gave up after %s, --connect-timeout)", err, a.cfg.ConnectTimeout)
		}
		return err
	}
	return nil
}

// ensureTopicsBounded checks the brokers and creates the topic catalog, both within the connect timeout.
func (a *app) ensureTopicsBounded(ctx context.Context, cat streams.Catalog) error {
	if err := a.brokersReachable(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ConnectTimeout)
	defer cancel()
	if err := streams.EnsureTopics(ctx, a.cluster(), cat); err != nil {
		return fmt.Errorf("%w (brokers %v, --connect-timeout %s)", err, a.brokers(), a.cfg.ConnectTimeout)
	}
	return nil
}
