package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, path
}

func ctr(id, name string) *Container {
	return &Container{
		ID: id, Name: name, ImageID: "img", ImageName: "localhost/img:latest",
		Command: []string{"sh", "-c", "true"}, Labels: map[string]string{"a": "b"},
		Created: time.Unix(100, 5), Config: []byte(`{"k":1}`),
		State: ContainerState{Status: define.StatusCreated},
	}
}

func TestContainerLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTemp(t)
	for _, c := range []*Container{ctr("abcdef01", "web"), ctr("abcdef02", "db"), ctr("123456", "abc")} {
		if err := d.AddContainer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		query, wantID string
		wantErr       error
	}{
		{"abcdef01", "abcdef01", nil},
		{"web", "abcdef01", nil},
		{"abcdef0", "", define.ErrInvalidArg}, // ambiguous prefix
		{"abc", "123456", nil},                // exact name beats id prefixes
		{"1234", "123456", nil},
		{"12", "", define.ErrNoSuchContainer}, // prefixes need 3 characters
		{"nope", "", define.ErrNoSuchContainer},
	}
	for _, tc := range tests {
		c, err := d.Container(ctx, tc.query)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Container(%q) error = %v, want %v", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil || c.ID != tc.wantID {
			t.Errorf("Container(%q) = %v, %v; want %s", tc.query, c, err, tc.wantID)
		}
	}
}

func TestContainerRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTemp(t)
	want := ctr("id1", "one")
	if err := d.AddContainer(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := d.AddContainer(ctx, ctr("id2", "one")); !errors.Is(err, define.ErrCtrExists) {
		t.Fatalf("duplicate name: got %v, want ErrCtrExists", err)
	}
	st := ContainerState{Status: define.StatusExited, Pid: 0, MonitorPid: 9, ExitCode: 3,
		StartedAt: time.Unix(200, 0), FinishedAt: time.Unix(300, 0), RestartCount: 2, StoppedByUser: true, Error: "boom", OOMKilled: true}
	if err := d.UpdateState(ctx, "id1", st); err != nil {
		t.Fatal(err)
	}
	got, err := d.Container(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != st || got.Command[2] != "true" || got.Labels["a"] != "b" || !got.Created.Equal(want.Created) || string(got.Config) != `{"k":1}` {
		t.Fatalf("round trip mismatch: %+v", got)
	}
	if err := d.AddContainer(ctx, ctr("id3", "two")); err != nil {
		t.Fatal(err)
	}
	if err := d.Rename(ctx, "id1", "two"); !errors.Is(err, define.ErrCtrExists) {
		t.Fatalf("rename onto taken name: %v", err)
	}
	if err := d.Rename(ctx, "id1", "uno"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveContainer(ctx, "id1"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{d.RemoveContainer(ctx, "id1"), d.UpdateState(ctx, "id1", st), d.Rename(ctx, "id1", "x")} {
		if !errors.Is(err, define.ErrNoSuchContainer) {
			t.Errorf("after removal: %v, want ErrNoSuchContainer", err)
		}
	}
}

// TestConcurrentWriters opens the file many times, as many engine processes
// would, and checks that every insert lands exactly once.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, path := openTemp(t)
	const writers, each = 10, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			d, err := Open(ctx, path)
			if err != nil {
				errs <- err
				return
			}
			defer func() { _ = d.Close() }()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := d.AddContainer(ctx, ctr(id, id)); err != nil {
					errs <- err
				}
				if err := d.AddEvent(ctx, Event{Type: "container", Action: "create", ID: id}); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	all, err := d.Containers(ctx)
	if err != nil || len(all) != writers*each {
		t.Fatalf("got %d containers (%v), want %d", len(all), err, writers*each)
	}
	evs, seqs, err := d.Events(ctx, EventFilter{})
	if err != nil || len(evs) != writers*each {
		t.Fatalf("got %d events (%v)", len(evs), err)
	}
	later, _, err := d.Events(ctx, EventFilter{AfterSeq: seqs[len(seqs)-5]})
	if err != nil || len(later) != 4 {
		t.Fatalf("AfterSeq: got %d events (%v), want 4", len(later), err)
	}
}

func TestEventsTimeFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTemp(t)
	for i := 1; i <= 5; i++ {
		if err := d.AddEvent(ctx, Event{Time: time.Unix(int64(i*10), 0), Type: "image", Action: "pull", ID: fmt.Sprint(i),
			Attributes: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	evs, _, err := d.Events(ctx, EventFilter{Since: time.Unix(20, 0), Until: time.Unix(40, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].ID != "2" || evs[2].Attributes["n"] != "4" {
		t.Fatalf("got %+v", evs)
	}
}

// TestMigrateFromOlderSchema builds a database at each earlier schema
// version, with a container in it, and checks that Open migrates it and that
// the record then reads and updates like a new one.
func TestMigrateFromOlderSchema(t *testing.T) {
	t.Parallel()
	for version := 1; version < len(migrations); version++ {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "state.db")
			old, err := sql.Open("sqlite3", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range migrations[:version] {
				if _, err := old.ExecContext(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			// Only the columns of the first schema, which every version has.
			if _, err := old.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d;
				INSERT INTO containers (id, name, image_id, image_name, command, labels, created, config, status, exit_code)
				VALUES ('id1', 'one', 'img', 'localhost/img:latest', '["true"]', '{}', 100, '{}', 'exited', 137)`, version)); err != nil {
				t.Fatal(err)
			}
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			d, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			got, err := d.Container(ctx, "one")
			if err != nil {
				t.Fatal(err)
			}
			if want := (ContainerState{Status: define.StatusExited, ExitCode: 137}); got.State != want {
				t.Fatalf("migrated state = %+v, want %+v", got.State, want)
			}
			st := ContainerState{Status: define.StatusExited, ExitCode: 137, OOMKilled: true}
			if err := d.UpdateState(ctx, "id1", st); err != nil {
				t.Fatal(err)
			}
			if got, err := d.Container(ctx, "id1"); err != nil || got.State != st {
				t.Fatalf("after update: %+v, %v; want %+v", got, err, st)
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTemp(t)
	if _, err := d.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, path); err == nil {
		t.Fatal("want error opening a database with a newer schema")
	}
}
