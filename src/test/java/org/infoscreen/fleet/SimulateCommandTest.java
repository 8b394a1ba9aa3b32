package org.infoscreen.fleet;

import org.infoscreen.fleet.cli.FleetCommand;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code java -jar infoscreen-fleet.jar simulate …} as a user runs it: the process ends by itself
 * with the exit code docs/simulator.md promises, and bad options are a usage error (exit 2).
 */
class SimulateCommandTest {

    @Test
    void aTimedRunEndsTheProcessWithExitCodeZero() throws Exception {
        Result r = runProcess("--clients", "2", "--duration-s", "2");
        assertThat(r.exited).as("process still running 20 s after --duration-s 2:%n%s", r.output).isTrue();
        assertThat(r.exitCode).as(r.output).isZero();
    }

    @Test
    void aLoadRunEndsTheProcessWithExitCodeZero() throws Exception {
        Result r = runProcess("--clients", "2", "--messages", "20");
        assertThat(r.exited).as("process still running 20 s after the load run:%n%s", r.output).isTrue();
        assertThat(r.exitCode).as(r.output).isZero();
        assertThat(r.output).contains("Load run:");
    }

    @Test
    void badOptionsAreAUsageErrorWithoutAStackTrace() {
        for (String[] args : List.of(
                new String[] {"--clients", "-5"},
                new String[] {"--clients", "5", "--crash", "99@1"},
                new String[] {"--clients", "5", "--hang", "0"},
                new String[] {"--broker", "bogus://x:1"},
                new String[] {"--broker", "tcp://"},
                new String[] {"--rate", "-1"},
                new String[] {"--messages", "-3"},
                new String[] {"--heartbeat-s", "0"},
                new String[] {"--crash-per-hour", "-1"})) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            CommandLine cli = FleetCommand.commandLine();
            cli.setOut(new PrintWriter(out));
            cli.setErr(new PrintWriter(err));
            List<String> all = new ArrayList<>(List.of("simulate", "--broker", "tcp://127.0.0.1:9"));
            all.addAll(List.of(args));
            int exit = cli.execute(all.toArray(String[]::new));
            String text = err.toString();
            assertThat(exit).as("%s -> %s", all, text).isEqualTo(2);
            assertThat(text).as(String.join(" ", all)).contains("Usage:").doesNotContain("Exception").doesNotContain("\tat ");
        }
    }

    private record Result(boolean exited, int exitCode, String output) {
    }

    private static Result runProcess(String... args) throws IOException, InterruptedException {
        Path log = Files.createTempFile("fleet-simulate-", ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "org.infoscreen.fleet.Application", "simulate", "--broker", TestServices.mqttUrl(),
                "--topic-prefix", "simexit" + System.nanoTime(), "--report-s", "0"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            boolean exited = p.waitFor(20, TimeUnit.SECONDS);
            return new Result(exited, exited ? p.exitValue() : -1, Files.readString(log));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(log);
        }
    }
}
