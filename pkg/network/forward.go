package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/vishvananda/netns"
)

// The port forwarder publishes a rootless container's ports when the
// container is on a bridge network, whose bridge lives in the user's
// rootless namespace where no host port can reach: it listens on the
// host's ports and, for each connection (or UDP peer), opens one to the
// container's address from inside the rootless namespace. This is the
// design of rootlesskit's builtin port driver, in one process and without
// its dependencies; like it, the container sees connections come from its
// network's gateway, not from the client.

// udpIdle is how long a UDP peer's flow stays open without traffic.
const udpIdle = 60 * time.Second

// RunPortForwarder forwards ports to target, dialed from the namespace at
// netnsPath, until ctx ends or the namespace's file goes away. Once every
// port is bound it closes ready; it returns an error when a port cannot be
// bound.
func RunPortForwarder(ctx context.Context, netnsPath string, ports []PortMapping, target netip.Addr, ready io.Closer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dial, err := nsDialer(ctx, netnsPath)
	if err != nil {
		return err
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	for _, p := range ports {
		for i := uint16(0); i < p.Range; i++ {
			host := net.JoinHostPort(p.hostAddr(), strconv.Itoa(int(p.HostPort+i)))
			to := net.JoinHostPort(target.String(), strconv.Itoa(int(p.ContainerPort+i)))
			switch p.Protocol {
			case "tcp":
				l, err := net.Listen("tcp", host)
				if err != nil {
					return fmt.Errorf("port forwarder: %w", err)
				}
				closers = append(closers, l)
				go forwardTCP(l, func() (net.Conn, error) { return dial("tcp", to) })
			case "udp":
				c, err := net.ListenPacket("udp", host)
				if err != nil {
					return fmt.Errorf("port forwarder: %w", err)
				}
				closers = append(closers, c)
				go forwardUDP(c, func() (net.Conn, error) { return dial("udp", to) })
			default:
				return fmt.Errorf("port forwarder: protocol %s: only tcp and udp can be published rootless", p.Protocol)
			}
		}
	}
	if err := ready.Close(); err != nil {
		return fmt.Errorf("port forwarder: %w", err)
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := os.Stat(netnsPath); err != nil {
				return nil // the namespace is gone: so is the container
			}
		}
	}
}

type dialReq struct {
	network, addr string
	done          chan dialResp
}

type dialResp struct {
	c   net.Conn
	err error
}

// nsDialer returns a function dialing from inside the namespace at path:
// sockets are created on one OS thread kept in that namespace.
func nsDialer(ctx context.Context, path string) (func(network, addr string) (net.Conn, error), error) {
	reqs := make(chan dialReq)
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the namespace
		ns, err := netns.GetFromPath(path)
		if err == nil {
			err = netns.Set(ns)
			_ = ns.Close()
		}
		ready <- err
		if err != nil {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case r := <-reqs:
				c, err := net.DialTimeout(r.network, r.addr, 10*time.Second)
				r.done <- dialResp{c, err}
			}
		}
	}()
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("port forwarder: enter %s: %w", path, err)
	}
	return func(network, addr string) (net.Conn, error) {
		r := dialReq{network, addr, make(chan dialResp, 1)}
		select {
		case reqs <- r:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		resp := <-r.done
		return resp.c, resp.err
	}, nil
}

func forwardTCP(l net.Listener, dial func() (net.Conn, error)) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go func() {
			defer func() { _ = c.Close() }()
			up, err := dial()
			if err != nil {
				return
			}
			defer func() { _ = up.Close() }()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(up, c)
				if tc, ok := up.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}()
			_, _ = io.Copy(c, up)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			wg.Wait()
		}()
	}
}

// forwardUDP relays datagrams between each peer and a flow of its own to
// the container, closed after udpIdle without traffic.
func forwardUDP(pc net.PacketConn, dial func() (net.Conn, error)) {
	var mu sync.Mutex
	flows := map[string]net.Conn{}
	buf := make([]byte, 65535)
	for {
		n, peer, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		mu.Lock()
		up, ok := flows[peer.String()]
		mu.Unlock()
		if !ok {
			if up, err = dial(); err != nil {
				continue
			}
			mu.Lock()
			flows[peer.String()] = up
			mu.Unlock()
			go func(peer net.Addr, up net.Conn) {
				defer func() {
					mu.Lock()
					delete(flows, peer.String())
					mu.Unlock()
					_ = up.Close()
				}()
				b := make([]byte, 65535)
				for {
					_ = up.SetReadDeadline(time.Now().Add(udpIdle))
					n, err := up.Read(b)
					if err != nil {
						return
					}
					if _, err := pc.WriteTo(b[:n], peer); err != nil {
						return
					}
				}
			}(peer, up)
		}
		_, _ = up.Write(buf[:n])
	}
}
