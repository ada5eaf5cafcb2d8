package libpod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tug-project/tug/pkg/specgen"
)

// Rename gives the container a new, unique name; the old one is free at
// once. A running container keeps running.
func (c *Container) Rename(newName string) error {
	if err := specgen.ValidateName(newName); err != nil {
		return err
	}
	newName = strings.TrimPrefix(newName, "/")
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return err
	}
	old := c.Name
	if old == newName {
		return &specgen.ValidationError{Err: errors.New("Renaming a container with the same name as its current name")}
	}
	db, err := c.rt.DB()
	if err != nil {
		return err
	}
	cfg := c.ContainerConfig
	cfg.Name = newName
	b, _ := json.Marshal(cfg)
	err = db.Update(context.Background(), func(tx *sql.Tx) error {
		var owner string
		if err := tx.QueryRow(`SELECT id FROM containers WHERE name = ?`, newName).Scan(&owner); err == nil {
			return &specgen.ValidationError{Err: fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", newName, owner)}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err := tx.Exec(`UPDATE containers SET name = ?, config = ? WHERE id = ?`, newName, string(b), c.ID)
		return err
	})
	if err != nil {
		return err
	}
	c.ContainerConfig = cfg
	c.renameEndpoints(old, newName)
	c.rt.writeEvent(c, "rename", map[string]string{"oldName": "/" + old})
	return nil
}
