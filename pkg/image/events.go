package image

import (
	"bytes"
	"encoding/json"

	"github.com/tug-project/tug/pkg/parse"
)

// EventFunc records an image event (libpod sets it to write the event log).
type EventFunc func(action, id string, attrs map[string]string)

// event records an image event as Docker's daemon does: the actor is id
// (a reference for pull and push, else "sha256:ID"), its attributes the
// image's labels and name.
func (r *Runtime) event(action, id, name, imageID string) {
	if r.Events == nil {
		return
	}
	attrs := map[string]string{}
	if imageID != "" {
		if raw, err := r.store.ImageBigData(imageID, bigDataConfig); err == nil {
			var cfg struct {
				Config struct{ Labels map[string]string } `json:"config"`
			}
			if json.NewDecoder(bytes.NewReader(raw)).Decode(&cfg) == nil {
				for k, v := range cfg.Config.Labels {
					attrs[k] = v
				}
			}
		}
	}
	attrs["name"] = name
	r.Events(action, id, attrs)
}

// refEvent is the event of a pull or push of ref: "image pull busybox:latest (name=busybox)".
func (r *Runtime) refEvent(action string, ref parse.Reference, imageID string) {
	id := ref.Familiar()
	r.event(action, id, ref.FamiliarName(), imageID)
}

// idEvent is an event named by the image ID: "image delete sha256:ID (name=sha256:ID)".
func (r *Runtime) idEvent(action, imageID string) {
	r.event(action, "sha256:"+imageID, "sha256:"+imageID, imageID)
}
