package cli

import (
	"context"
	"io"
	"net"
	"time"

	"vitrine/buildinfo"
	"vitrine/demo"
	"vitrine/instagram/fake"
	"vitrine/server"
)

const serveSummary = "run the server (the default command)"

func serve(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
	o, err := parseFlags("serve", serveSummary, args, stderr, true, false)
	if err != nil {
		return ExitUsage
	}
	loaded, ok := loadConfig(o, stderr, true)
	if !ok {
		return ExitUsage
	}
	log := newLogger(loaded, stderr)

	// Listen before wiring so -addr :0 works and, in -demo, the public URL
	// can follow the address actually bound.
	ln, err := net.Listen("tcp", loaded.Server.Addr)
	if err != nil {
		log.Error("cannot listen", "addr", loaded.Server.Addr, "err", err)
		return ExitFailure
	}
	defer ln.Close()

	cfg := *loaded
	var demoFake *fake.Fake
	if cfg.Demo {
		var cleanup func()
		cfg, demoFake, cleanup, err = demo.Configure(cfg, "http://"+reachableAddr(ln.Addr()), o.demoPosts)
		if err != nil {
			log.Error("demo setup failed", "err", err)
			return ExitFailure
		}
		defer cleanup()
		if err := cfg.Validate(); err != nil {
			log.Error("demo setup failed", "err", err)
			return ExitFailure
		}
	}

	v, err := server.New(cfg, log, server.Options{DemoFake: demoFake})
	if err != nil {
		log.Error("cannot start", "err", err)
		return ExitFailure
	}
	defer v.Close()
	serveErr := v.Start(ln)
	defer v.StopJobs()

	log.Info("Vitrine is listening", "url", cfg.Server.PublicURL, "addr", ln.Addr().String(), "data_dir", cfg.DataDir,
		"version", buildinfo.Get().Version, "commit", buildinfo.Get().ShortCommit())
	if v.Demo != nil {
		v.Demo.Announce()
		if o.demoConnect {
			if err := v.Demo.Connect(ctx, v.Connection); err != nil {
				log.Error("demo: connecting at start failed", "err", err)
				return ExitFailure
			}
		}
	}

	select {
	case err := <-serveErr:
		log.Error("server stopped", "err", err)
		return ExitFailure
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown did not finish cleanly", "err", err)
		return ExitFailure
	}
	log.Info("stopped")
	return ExitOK
}

// reachableAddr turns a listener address into one a browser can open:
// a wildcard host becomes loopback.
func reachableAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
