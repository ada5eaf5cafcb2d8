// Command netsink moves bytes over TCP as fast as the network lets it, for
// the throughput benchmarks (busybox nc reads in small pieces and would be
// what is measured). Built static and put into the benchmarks' image.
//
//	netsink listen PORT       accept connections, discard what comes, close at EOF
//	netsink send ADDR BYTES   send BYTES zero bytes to ADDR (host:port, or gw:port for
//	                          the default route's gateway), then wait for the close
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: netsink listen PORT | netsink send ADDR BYTES")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "listen":
		err = listen(os.Args[2])
	case "send":
		n, _ := strconv.ParseInt(os.Args[3], 10, 64)
		err = send(os.Args[2], n)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netsink:", err)
		os.Exit(1)
	}
}

func listen(port string) error {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			io.Copy(io.Discard, c)
			c.Close()
		}()
	}
}

func send(addr string, n int64) error {
	if host, port, ok := strings.Cut(addr, ":"); ok && host == "gw" {
		gw, err := defaultGateway()
		if err != nil {
			return err
		}
		addr = gw + ":" + port
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1<<20)
	for sent := int64(0); sent < n; {
		chunk := buf
		if n-sent < int64(len(chunk)) {
			chunk = chunk[:n-sent]
		}
		w, err := c.Write(chunk)
		if err != nil {
			return err
		}
		sent += int64(w)
	}
	c.(*net.TCPConn).CloseWrite()
	_, err = io.Copy(io.Discard, c)
	return err
}

// defaultGateway reads /proc/net/route.
func defaultGateway() (string, error) {
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			v, err := strconv.ParseUint(f[2], 16, 32)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d.%d.%d.%d", v&0xff, v>>8&0xff, v>>16&0xff, v>>24), nil
		}
	}
	return "", fmt.Errorf("no default route")
}
