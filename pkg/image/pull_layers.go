package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"

	"github.com/tug-project/tug/pkg/progress"
)

// fetchLayers stores the layers of res that are not stored yet and reports
// whether it fetched any.
//
// Blobs download in parallel (opts.Jobs at once) into files of a locked
// work dir, and each layer is stored, in order, while its file is still
// being written: storage reads a layer as it arrives, so downloading and
// extracting overlap. The reader gives storage the last bytes only once the
// blob's digest has been checked, so a corrupt or cut download makes storage
// fail and drop the layer: nothing half-written is ever counted as stored.
func (r *Runtime) fetchLayers(ctx context.Context, cancel context.CancelCauseFunc, res *resolved, diffIDs []v1.Hash, opts *PullOptions) (bool, error) {
	rep := opts.reporter()
	chain := ChainIDs(diffIDs)
	layers := res.manifest.Layers
	first := 0 // layers below first are stored (a stored layer implies its parents)
	for i := len(chain) - 1; i >= 0; i-- {
		if r.HasLayer(chain[i]) {
			first = i + 1
			break
		}
	}
	for i := 0; i < first; i++ {
		rep.Report(progress.Event{ID: shortDigest(layers[i].Digest), Status: "Already exists", Final: true})
	}
	if first == len(chain) {
		return false, nil
	}
	wd, err := r.NewWorkDir("pull-")
	if err != nil {
		return false, fmt.Errorf("creating a work directory for the download: %w", err)
	}
	defer wd.Remove()

	downloads := map[v1.Hash]*download{}
	var order []*download
	for i := first; i < len(chain); i++ {
		d := layers[i]
		if dl := downloads[d.Digest]; dl != nil {
			dl.uses++
			continue
		}
		layer, err := res.image.LayerByDigest(d.Digest)
		if err != nil {
			return false, layerError(res.client, shortDigest(d.Digest), err)
		}
		dl, err := newDownload(filepath.Join(wd.Path, d.Digest.Hex), d, layer, rep)
		if err != nil {
			return false, err
		}
		downloads[d.Digest] = dl
		order = append(order, dl)
		rep.Report(progress.Event{ID: dl.id, Status: "Waiting", Total: d.Size})
	}
	defer func() {
		for _, dl := range order {
			dl.file.Close()
		}
	}()

	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = defaultPullJobs
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // start downloads in layer order, jobs at a time
		defer wg.Done()
		sem := make(chan struct{}, jobs)
		for _, dl := range order {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				dl.finish(context.Cause(ctx))
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := dl.run(ctx, cancel, res.client.host); err != nil {
					cancel(err)
				}
			}()
		}
	}()
	defer wg.Wait()

	parent := ""
	if first > 0 {
		parent = chain[first-1]
	}
	for i := first; i < len(chain); i++ {
		dl := downloads[layers[i].Digest]
		rd, err := dl.reader(ctx, rep)
		if err != nil {
			cancel(err)
			return false, err
		}
		started := time.Now()
		id, err := r.PutLayer(parent, diffIDs[i], layers[i].Digest, rd)
		rd.Close()
		logrus.Debugf("layer %s stored in %s", dl.id, time.Since(started))
		if err != nil {
			// The download's own error says more than storage's wrapping of it.
			if dlErr := dl.failure(); dlErr != nil {
				err = layerError(res.client, dl.id, dlErr)
			} else if cause := context.Cause(ctx); cause != nil {
				err = layerError(res.client, dl.id, cause)
			}
			cancel(err)
			return false, err
		}
		if dl.uses--; dl.uses == 0 {
			os.Remove(dl.path) // free the space as soon as no later layer needs it
		}
		rep.Report(progress.Event{ID: dl.id, Status: "Pull complete", Final: true})
		parent = id
	}
	return true, nil
}

// layerError words a failed layer download.
func layerError(c *repoClient, id string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if code, status := errorCode(err); code == "BLOB_UNKNOWN" || status == http.StatusNotFound {
		return fmt.Errorf("layer %s is missing from %s: blob unknown to registry", id, c.sourceName())
	}
	return fmt.Errorf("fetching layer %s: %w", id, registryError(c.host, c.hasCreds, err))
}

// shortDigest is a digest as progress lines show it: 12 hex digits.
func shortDigest(h v1.Hash) string { return shortID(h.Hex) }

// download is one blob being written to a file that readers may follow.
type download struct {
	id    string // short digest, as progress shows it
	path  string
	desc  v1.Descriptor
	layer v1.Layer
	rep   progress.Reporter
	file  *os.File
	uses  int // layers of the image made of this blob (usually 1)

	mu      sync.Mutex
	cond    *sync.Cond
	written int64
	done    bool  // the whole blob is in the file and its digest is verified
	err     error // the download failed
}

func newDownload(path string, desc v1.Descriptor, layer v1.Layer, rep progress.Reporter) (*download, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	dl := &download{id: shortDigest(desc.Digest), path: path, desc: desc, layer: layer, rep: rep, file: f, uses: 1}
	dl.cond = sync.NewCond(&dl.mu)
	return dl, nil
}

func (dl *download) finish(err error) {
	dl.mu.Lock()
	if err != nil {
		dl.err = err
	} else {
		dl.done = true
	}
	dl.cond.Broadcast()
	dl.mu.Unlock()
}

func (dl *download) failure() error {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.err
}

// run fetches the blob (go-containerregistry's reader checks its size and
// digest at the end) into the file.
func (dl *download) run(ctx context.Context, cancel context.CancelCauseFunc, host string) (err error) {
	defer func() { dl.finish(err) }()
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	began := time.Now()
	rc, err := dl.layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	// A registry that stops sending fails the pull instead of hanging it.
	stall := time.AfterFunc(stallTimeout, func() {
		cancel(fmt.Errorf("registry %s sent nothing for %s while sending layer %s: giving up", host, stallTimeout, dl.id))
	})
	defer stall.Stop()
	buf := make([]byte, 1<<20)
	var last time.Time
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			stall.Reset(stallTimeout)
			if _, werr := dl.file.WriteAt(buf[:n], dl.written); werr != nil {
				return fmt.Errorf("writing layer %s to %s: %w", dl.id, filepath.Dir(dl.path), werr)
			}
			dl.mu.Lock()
			dl.written += int64(n)
			written := dl.written
			dl.cond.Broadcast()
			dl.mu.Unlock()
			if now := time.Now(); now.Sub(last) > 100*time.Millisecond {
				last = now
				dl.rep.Report(progress.Event{ID: dl.id, Status: "Downloading", Current: written, Total: dl.desc.Size})
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if cause := context.Cause(ctx); cause != nil {
				return cause
			}
			return fmt.Errorf("downloading layer %s: %w", dl.id, rerr)
		}
	}
	dl.rep.Report(progress.Event{ID: dl.id, Status: "Download complete"})
	logrus.Debugf("layer %s downloaded (%d bytes) in %s", dl.id, dl.written, time.Since(began))
	return nil
}

// reader follows the file as it grows. It returns EOF only after the
// download is complete and verified, and the download's error if it failed.
func (dl *download) reader(ctx context.Context, rep progress.Reporter) (io.ReadCloser, error) {
	f, err := os.Open(dl.path)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() {
		dl.mu.Lock()
		dl.cond.Broadcast()
		dl.mu.Unlock()
	})
	return &followReader{dl: dl, f: f, ctx: ctx, stop: stop, rep: rep}, nil
}

type followReader struct {
	dl   *download
	f    *os.File
	off  int64
	ctx  context.Context
	stop func() bool
	rep  progress.Reporter
	last time.Time
}

func (fr *followReader) Read(p []byte) (int, error) {
	dl := fr.dl
	dl.mu.Lock()
	for fr.off >= dl.written && !dl.done && dl.err == nil && fr.ctx.Err() == nil {
		dl.cond.Wait()
	}
	written, done, err := dl.written, dl.done, dl.err
	dl.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if fr.ctx.Err() != nil {
		return 0, context.Cause(fr.ctx)
	}
	if fr.off >= written {
		return 0, io.EOF // done: everything is read and verified
	}
	if avail := written - fr.off; int64(len(p)) > avail {
		p = p[:avail]
	}
	n, rerr := fr.f.ReadAt(p, fr.off)
	fr.off += int64(n)
	if rerr == io.EOF && n > 0 {
		rerr = nil
	}
	if done {
		if now := time.Now(); now.Sub(fr.last) > 100*time.Millisecond {
			fr.last = now
			fr.rep.Report(progress.Event{ID: dl.id, Status: "Extracting", Current: fr.off, Total: dl.desc.Size})
		}
	}
	return n, rerr
}

func (fr *followReader) Close() error {
	fr.stop()
	return fr.f.Close()
}
