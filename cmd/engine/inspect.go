package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// Object kinds `inspect --type` accepts.
const (
	inspectImage     = "image"
	inspectContainer = "container"
	inspectAll       = "all"
)

// newInspectCommand builds the top-level `inspect`, which looks names up
// among the kinds --type allows: containers first, then images.
func newInspectCommand(g *globalOptions) *cobra.Command {
	var o inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [options] NAME [NAME...]",
		Short: "Show low-level information on containers and images",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch o.kind {
			case inspectImage, inspectContainer, inspectAll:
			default:
				return fmt.Errorf("--type %q: must be %q, %q or %q: %w", o.kind, inspectImage, inspectContainer, inspectAll, define.ErrInvalidArg)
			}
			return o.run(cmd, g, args)
		},
	}
	o.addFlags(cmd, "object")
	cmd.Flags().StringVarP(&o.kind, "type", "t", inspectAll, "kind of object: container, image or all")
	return cmd
}

// newContainerInspectCommand builds `container inspect`.
func newContainerInspectCommand(g *globalOptions) *cobra.Command {
	o := inspectOptions{kind: inspectContainer}
	cmd := &cobra.Command{
		Use:   "inspect [options] CONTAINER [CONTAINER...]",
		Short: "Show low-level information on containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, g, args)
		},
	}
	o.addFlags(cmd, "container")
	return cmd
}

// inspectOptions are the flags of the top-level and container inspect.
type inspectOptions struct {
	format, kind string
	size, latest bool
}

func (o *inspectOptions) addFlags(cmd *cobra.Command, what string) {
	fl := cmd.Flags()
	fl.StringVarP(&o.format, "format", "f", format.JSON, "format output: json or a Go template applied to each "+what)
	fl.BoolVarP(&o.size, "size", "s", false, "display the total file sizes of containers (SizeRw, SizeRootFs)")
	fl.BoolVarP(&o.latest, "latest", "l", false, "act on the latest container created")
}

func (o *inspectOptions) run(cmd *cobra.Command, g *globalOptions, args []string) error {
	if err := needNameOrLatest(cmd, args, o.latest); err != nil {
		return err
	}
	return g.withEngine(cmd, func(eng *libengine.Engine) error {
		kind := o.kind
		if o.latest {
			id, err := latestContainer(cmd.Context(), eng)
			if err != nil {
				return err
			}
			args, kind = []string{id}, inspectContainer
		}
		objs, err := inspectObjects(cmd.Context(), eng, args, kind, libengine.ContainerInspectOptions{Size: o.size})
		return printInspected(cmd.OutOrStdout(), o.format, objs, err)
	})
}

// newImageInspectCommand builds `image inspect`.
func newImageInspectCommand(g *globalOptions) *cobra.Command {
	var fmtFlag string
	cmd := &cobra.Command{
		Use:   "inspect [options] IMAGE [IMAGE...]",
		Short: "Show low-level information on images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				objs, err := inspectObjects(cmd.Context(), eng, args, inspectImage, libengine.ContainerInspectOptions{})
				return printInspected(cmd.OutOrStdout(), fmtFlag, objs, err)
			})
		},
	}
	cmd.Flags().StringVarP(&fmtFlag, "format", "f", format.JSON, "format output: json or a Go template applied to each image")
	return cmd
}

// inspectObjects inspects each name as kind allows, keeping the order of
// names. "all" tries a container first and falls back to an image, as
// podman does; a name that is neither is "no such object".
func inspectObjects(ctx context.Context, eng *libengine.Engine, names []string, kind string, opts libengine.ContainerInspectOptions) ([]any, error) {
	var objs []any
	var errs []error
	for _, name := range names {
		if kind != inspectImage {
			docs, err := eng.ContainerInspect(ctx, []string{name}, opts)
			if err == nil {
				objs = append(objs, docs[0])
				continue
			}
			if kind == inspectContainer || !errors.Is(err, define.ErrNoSuchContainer) {
				errs = append(errs, err)
				continue
			}
		}
		docs, err := eng.ImageInspect(ctx, []string{name})
		if err != nil {
			if kind == inspectAll && errors.Is(err, define.ErrNoSuchImage) {
				err = fmt.Errorf("no such object: %q: %w", name, err)
			}
			errs = append(errs, err)
			continue
		}
		objs = append(objs, docs[0])
	}
	return objs, errors.Join(errs...)
}

// templateObject applies a template to one object. As docker's inspect,
// it tries the typed object first ({{join .RepoTags ","}} needs real
// slices) and falls back to the object's JSON decoded into maps, so fields
// can be named as the JSON names them ({{.Id}}); numbers stay exact.
func templateObject(w io.Writer, tmpl string, obj any) error {
	var buf bytes.Buffer
	err := format.Template(&buf, tmpl, []any{obj})
	if err != nil {
		b, jerr := json.Marshal(obj)
		if jerr != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var raw any
		if dec.Decode(&raw) != nil {
			return err
		}
		buf.Reset()
		if format.Template(&buf, tmpl, []any{raw}) != nil {
			return err
		}
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// printInspected prints what was found (a JSON array, "[]" when nothing,
// or the template per object), then returns the lookup failures.
func printInspected(w io.Writer, fmtFlag string, objs []any, lookupErr error) error {
	var err error
	if fmtFlag == format.JSON || fmtFlag == "" {
		if objs == nil {
			objs = []any{}
		}
		err = format.PrintJSON(w, objs)
	} else {
		for _, o := range objs {
			if err = templateObject(w, fmtFlag, o); err != nil {
				break
			}
		}
	}
	if lookupErr != nil {
		return lookupErr
	}
	return err
}
