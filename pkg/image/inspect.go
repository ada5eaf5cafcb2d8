package image

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/tug-project/tug/pkg/parse"
)

// ContainerConfig is Docker's container configuration as an image config
// stores it (the "config" and "container_config" keys) and as `image inspect`
// prints it: every key Docker prints, in Docker's order.
type ContainerConfig struct {
	Hostname        string
	Domainname      string
	User            string
	AttachStdin     bool
	AttachStdout    bool
	AttachStderr    bool
	ExposedPorts    map[string]struct{} `json:",omitempty"`
	Tty             bool
	OpenStdin       bool
	StdinOnce       bool
	Env             []string
	Cmd             []string
	Healthcheck     *HealthConfig `json:",omitempty"`
	ArgsEscaped     bool          `json:",omitempty"`
	Image           string
	Volumes         map[string]struct{}
	WorkingDir      string
	Entrypoint      []string
	NetworkDisabled bool   `json:",omitempty"`
	MacAddress      string `json:",omitempty"`
	OnBuild         []string
	Labels          map[string]string
	StopSignal      string   `json:",omitempty"`
	StopTimeout     *int     `json:",omitempty"`
	Shell           []string `json:",omitempty"`
}

// HealthConfig is a HEALTHCHECK as Docker stores it (durations in nanoseconds).
type HealthConfig struct {
	Test        []string      `json:",omitempty"`
	Interval    time.Duration `json:",omitempty"`
	Timeout     time.Duration `json:",omitempty"`
	StartPeriod time.Duration `json:",omitempty"`
	Retries     int           `json:",omitempty"`
}

// GraphDriverData names the storage driver and the image's directories in it.
type GraphDriverData struct {
	Data map[string]string
	Name string
}

// RootFSData lists the layers by diff ID.
type RootFSData struct {
	Type   string
	Layers []string
}

// MetadataData is inspect's Metadata block.
type MetadataData struct {
	LastTagTime string
}

// InspectData is `tug image inspect` of one image, in Docker's JSON shape
// (API 1.41, the level tug follows: Container, ContainerConfig and
// VirtualSize are still there).
type InspectData struct {
	ID              string `json:"Id"`
	RepoTags        []string
	RepoDigests     []string
	Parent          string
	Comment         string
	Created         string
	Container       string
	ContainerConfig ContainerConfig
	DockerVersion   string
	Author          string
	Config          *ContainerConfig
	Architecture    string
	Variant         string `json:",omitempty"`
	Os              string
	OsVersion       string `json:",omitempty"`
	Size            int64
	VirtualSize     int64
	GraphDriver     GraphDriverData
	RootFS          RootFSData
	Metadata        MetadataData
}

// rawImageConfig is the part of an image config that inspect reads beyond
// go-containerregistry's ConfigFile (which lacks comment and container_config).
type rawImageConfig struct {
	Comment         string           `json:"comment"`
	Container       string           `json:"container"`
	ContainerConfig *ContainerConfig `json:"container_config"`
	Config          *ContainerConfig `json:"config"`
	DockerVersion   string           `json:"docker_version"`
	Author          string           `json:"author"`
	Created         *time.Time       `json:"created"`
	Architecture    string           `json:"architecture"`
	Variant         string           `json:"variant"`
	OS              string           `json:"os"`
	OSVersion       string           `json:"os.version"`
}

// Inspect describes img as Docker's `image inspect` does.
func (r *Runtime) Inspect(img *Image) (*InspectData, error) {
	var raw rawImageConfig
	if err := json.Unmarshal(img.RawConfig, &raw); err != nil {
		return nil, err
	}
	d := &InspectData{
		ID:            "sha256:" + img.ID,
		RepoTags:      familiarAll(img.Names),
		RepoDigests:   familiarAll(img.RepoDigests),
		Comment:       raw.Comment,
		Container:     raw.Container,
		DockerVersion: raw.DockerVersion,
		Author:        raw.Author,
		Config:        raw.Config,
		Architecture:  raw.Architecture,
		Variant:       raw.Variant,
		Os:            raw.OS,
		OsVersion:     raw.OSVersion,
		Size:          img.Size,
		VirtualSize:   img.Size,
		GraphDriver:   GraphDriverData{Name: r.store.GraphDriverName()},
		RootFS:        RootFSData{Type: "layers", Layers: []string{}},
		Metadata:      MetadataData{LastTagTime: time.Time{}.Format(time.RFC3339Nano)},
	}
	if img.Parent != "" {
		d.Parent = "sha256:" + img.Parent
	}
	if raw.Created != nil {
		d.Created = raw.Created.Format(time.RFC3339Nano)
	}
	if raw.ContainerConfig != nil {
		d.ContainerConfig = *raw.ContainerConfig
	}
	if d.Config == nil {
		d.Config = &ContainerConfig{}
	}
	if img.Config != nil {
		for _, h := range img.Config.RootFS.DiffIDs {
			d.RootFS.Layers = append(d.RootFS.Layers, h.String())
		}
	}
	if img.LastTagTime != nil {
		d.Metadata.LastTagTime = img.LastTagTime.Format(time.RFC3339Nano)
	}
	if img.TopLayer != "" {
		if drv, err := r.store.GraphDriver(); err == nil {
			if md, err := drv.Metadata(img.TopLayer); err == nil && len(md) > 0 {
				d.GraphDriver.Data = md
			}
		}
	}
	return d, nil
}

// familiarAll turns stored full names into Docker's display form, sorted.
func familiarAll(names []string) []string {
	out := []string{}
	for _, n := range names {
		if ref, err := parse.ParseReference(n); err == nil {
			out = append(out, ref.Familiar())
		} else {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// HistoryEntry is one row of `tug history`, newest first.
type HistoryEntry struct {
	ID         string // "sha256:..." for the image itself, "" for an older step (<missing>)
	Created    time.Time
	CreatedBy  string
	Comment    string
	Size       int64
	Tags       []string
	EmptyLayer bool
}

// History lists how img was made, from its config's history matched to its
// layers (each history entry that is not an empty layer owns the next layer).
// An image without history gets one row per layer.
func (r *Runtime) History(img *Image) ([]HistoryEntry, error) {
	layers, err := r.Layers(img)
	if err != nil {
		return nil, err
	}
	var rows []HistoryEntry
	if img.Config != nil && len(img.Config.History) > 0 {
		li := 0
		for _, h := range img.Config.History {
			e := HistoryEntry{Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
			if !h.EmptyLayer && li < len(layers) {
				e.Size = layers[li].Size
				li++
			}
			rows = append(rows, e)
		}
	} else {
		for _, l := range layers {
			rows = append(rows, HistoryEntry{Created: img.Created(), Size: l.Size})
		}
	}
	if len(rows) == 0 {
		rows = append(rows, HistoryEntry{Created: img.Created()})
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	rows[0].ID = "sha256:" + img.ID
	rows[0].Tags = familiarAll(img.Names)
	// Parent images stored locally take their rows' IDs, as in Docker.
	parentID := img.Parent
	pos := 1
	for parentID != "" && pos < len(rows) {
		parent, err := r.byID(parentID)
		if err != nil || parent.Config == nil {
			break
		}
		pos = len(rows) - len(parent.Config.History)
		if pos <= 0 || pos >= len(rows) {
			break
		}
		rows[pos].ID = "sha256:" + parent.ID
		rows[pos].Tags = familiarAll(parent.Names)
		parentID = parent.Parent
	}
	return rows, nil
}

// Familiar is Docker's display form of a stored name ("alpine:latest").
func Familiar(name string) string {
	if ref, err := parse.ParseReference(name); err == nil {
		return ref.Familiar()
	}
	return name
}

// SplitName splits a stored name into Docker's REPOSITORY and TAG columns.
func SplitName(name string) (repo, tag string) {
	ref, err := parse.ParseReference(name)
	if err != nil {
		if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
			return name[:i], name[i+1:]
		}
		return name, "<none>"
	}
	tag = ref.Tag()
	if tag == "" {
		tag = "<none>"
	}
	return ref.FamiliarName(), tag
}
