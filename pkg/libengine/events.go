package libengine

import (
	"context"

	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/sirupsen/logrus"
)

// event records an entry in the event log. A failure to record is logged,
// not returned: the operation it describes has already happened.
func (e *Engine) event(ctx context.Context, typ, action, id, name string, attrs map[string]string) {
	if err := e.db.AddEvent(ctx, state.Event{Type: typ, Action: action, ID: id, Name: name, Attributes: attrs}); err != nil {
		logrus.Warnf("event log: %v", err)
	}
}
