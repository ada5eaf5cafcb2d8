package libpod

import (
	"database/sql"
	"fmt"
)

// Which containers use which volumes: the contract between the container
// code and the volume code.
//
//   - A container's volumes are recorded in container_volumes by
//     useVolumesTx, in the same write transaction that inserts the
//     container's row, before anything is mounted. A named volume that does
//     not exist yet is created there (Docker's create on first use); an
//     anonymous one gets a random 64-hex name.
//   - `volume rm` and `volume prune` check container_volumes and delete in one
//     write transaction. SQLite runs write transactions one at a time, so a
//     container that starts using a volume while it is being pruned either
//     registers first (and the volume stays) or after (and creates it
//     afresh, empty): a container never holds a deleted volume.
//   - The rows go when the container's row is deleted (ON DELETE CASCADE),
//     and a volume's row cannot be deleted while they exist (the foreign key
//     refuses). To remove the container's anonymous volumes with it (rm -v,
//     run --rm), call releaseVolumesTx in the transaction that deletes the
//     container's row, before the delete, and removeTrash on what it returns
//     after commit.
//   - Volumes with driver options are mounted with (*Volume).Mount(ctx, ID)
//     when the container starts and released with Unmount(ctx, ID) when it
//     stops, including when a dead monitor's cleanup is done later.

// VolumeRequest is one volume a new container uses.
type VolumeRequest struct {
	Name    string            // "" for a new anonymous volume
	Driver  string            // for a volume this creates; "" is local
	Labels  map[string]string // for a volume this creates
	Options map[string]string // driver options, for a volume this creates
}

// useVolumesTx records that containerID (whose row tx has just inserted)
// uses the requested volumes, creating those that do not exist. It returns
// the volumes in request order (anonymous ones with their new names) and
// the directories to remove if tx does not commit.
func (r *Runtime) useVolumesTx(tx *sql.Tx, containerID string, reqs []VolumeRequest) (vols []*Volume, cleanup []string, err error) {
	for _, req := range reqs {
		opts := VolumeCreateOptions{Name: req.Name, Driver: req.Driver, Labels: req.Labels, Options: req.Options}
		if err := r.checkVolumeOptions(&opts); err != nil {
			return nil, cleanup, err
		}
		v, _, dirs, err := r.createVolumeTx(tx, opts)
		cleanup = append(cleanup, dirs...)
		if err != nil {
			return nil, cleanup, err
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO container_volumes(container_id, volume) VALUES(?, ?)`, containerID, v.Name); err != nil {
			return nil, cleanup, fmt.Errorf("recording the use of volume %s: %w", v.Name, err)
		}
		vols = append(vols, v)
	}
	return vols, cleanup, nil
}

// detachedVolume is a volume removed in a transaction: its data directory,
// moved aside, is for removeTrash after commit.
type detachedVolume struct{ Name, Trash string }

// releaseVolumesTx is called in the transaction that deletes containerID's
// row, before the delete. With removeAnonymous, the anonymous volumes that
// no other container uses are removed too; what it returns is for
// removeTrash after commit. Named volumes always stay.
func (r *Runtime) releaseVolumesTx(tx *sql.Tx, containerID string, removeAnonymous bool) (removed []detachedVolume, err error) {
	rows, err := tx.Query(`SELECT v.name, v.driver, v.created, v.config FROM volumes v
		JOIN container_volumes cv ON cv.volume = v.name WHERE cv.container_id = ?`, containerID)
	if err != nil {
		return nil, err
	}
	var vols []*Volume
	for rows.Next() {
		v, err := r.scanVolume(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		vols = append(vols, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`DELETE FROM container_volumes WHERE container_id = ?`, containerID); err != nil {
		return nil, err
	}
	if !removeAnonymous {
		return nil, nil
	}
	for _, v := range vols {
		if !v.Anonymous() {
			continue
		}
		users, err := volumeUsers(tx, v.Name)
		if err != nil {
			return removed, err
		}
		if len(users) > 0 {
			continue // shared through --volumes-from: the last user removes it
		}
		dir, err := r.detachVolumeTx(tx, v.Name)
		if err != nil {
			return removed, err
		}
		removed = append(removed, detachedVolume{Name: v.Name, Trash: dir})
	}
	return removed, nil
}
