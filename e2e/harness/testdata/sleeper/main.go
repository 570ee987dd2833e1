// Command sleeper is the stand-in process for the harness's own tests: it announces itself,
// then waits for SIGTERM, and can misbehave on request.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM, so only SIGKILL stops it")
	exitCode := flag.Int("exit", -1, "write to stderr and exit with this code at once")
	spawn := flag.Bool("spawn", false, "start a child sleeper in the same process group")
	flag.Parse()

	if *exitCode >= 0 {
		fmt.Fprintf(os.Stderr, "sleeper exiting with %d\n", *exitCode)
		os.Exit(*exitCode)
	}

	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if *spawn {
		child := exec.Command(os.Args[0], "-ignore-term")
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		if err := child.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "sleeper: spawn: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("sleeper child pid=%d\n", child.Process.Pid)
	}
	fmt.Printf("sleeper ready pid=%d greeting=%q\n", os.Getpid(), os.Getenv("SLEEPER_GREETING"))
	<-term
	fmt.Println("sleeper got SIGTERM")
}
