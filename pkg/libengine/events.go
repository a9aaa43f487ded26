package libengine

import (
	"context"
	"maps"

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

// ctrEvent records a container event with what podman attaches to one: the
// container's labels and its image (attribute "image"), then attrs.
func (e *Engine) ctrEvent(ctx context.Context, c *state.Container, action string, attrs map[string]string) {
	all := map[string]string{}
	maps.Copy(all, c.Labels)
	maps.Copy(all, attrs)
	all[eventAttrImage] = c.ImageName
	e.event(ctx, "container", action, c.ID, c.Name, all)
}
