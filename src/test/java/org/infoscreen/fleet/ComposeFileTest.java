package org.infoscreen.fleet;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Static checks of the deployment files (no Docker engine in CI): docker-compose.yml parses and
 * has PostgreSQL, the broker and the service with health checks, secrets as Docker secrets and an
 * optional simulator profile; every variable the service reads (application.properties
 * {@code {{env:NAME}}}, log4j2.xml {@code ${env:NAME}}, {@code Secrets} names in the Java sources)
 * and every variable the compose file uses is in .env.example with a meaning; every mounted
 * path exists or is made by a documented script; the Dockerfile is a multi-stage build to a JRE
 * image, runs as a non-root user, and builds and runs with the README's set-up command.
 */
class ComposeFileTest {

    /** Paths the repository does not hold, and the script that makes each. */
    private static final Map<String, String> GENERATED = Map.of(
            "mosquitto/passwd", "deploy/compose-init.sh",
            "mosquitto/certs", "mosquitto/gen-certs.sh",
            "mosquitto/certs/ca.crt", "mosquitto/gen-certs.sh",
            "secrets/db_password", "deploy/compose-init.sh",
            "secrets/mqtt_password", "deploy/compose-init.sh",
            "secrets/mqtt_monitor_password", "deploy/compose-init.sh",
            "secrets/api_tokens", "deploy/compose-init.sh",
            "secrets/simulator_password", "deploy/compose-init.sh");

    @SuppressWarnings("unchecked")
    private static Map<String, Object> compose() throws IOException {
        return (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(Files.readString(Path.of("docker-compose.yml")));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> service(String name) throws IOException {
        Map<String, Object> services = (Map<String, Object>) compose().get("services");
        assertThat(services).as("services").containsKey(name);
        return (Map<String, Object>) services.get(name);
    }

    /** @return NAME of every {@code NAME=} line of .env.example, commented or not, that has a meaning comment above it */
    private static Set<String> envExample() throws IOException {
        List<String> lines = Files.readAllLines(Path.of(".env.example"));
        Set<String> names = new LinkedHashSet<>();
        Pattern var = Pattern.compile("^#?\\s?([A-Z][A-Z0-9_]*)=.*");
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = var.matcher(lines.get(i));
            if (m.matches()) {
                int j = i - 1;
                while (j >= 0 && var.matcher(lines.get(j)).matches()) {
                    j--;
                }
                assertThat(j >= 0 && lines.get(j).startsWith("# ") && lines.get(j).length() > 8)
                        .as(".env.example: " + m.group(1) + " needs a comment line saying what it means").isTrue();
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** @return every environment variable the service reads */
    static Set<String> serviceVariables() throws IOException {
        Set<String> names = new TreeSet<>();
        String properties = String.join("\n", Files.readAllLines(Path.of("src/main/resources/application.properties")).stream()
                .filter(l -> !l.strip().startsWith("#")).toList());
        find(properties, "\\{\\{env:([A-Z][A-Z0-9_]*)", names);
        find(Files.readString(Path.of("src/main/resources/log4j2.xml")), "\\$\\{env:([A-Z][A-Z0-9_]*)", names);
        try (Stream<Path> java = Files.walk(Path.of("src/main/java"))) {
            for (Path f : java.filter(p -> p.toString().endsWith(".java")).toList()) {
                String src = Files.readString(f);
                Set<String> secrets = new TreeSet<>();
                find(src, "secrets\\.get(?:Inline)?\\(\"([A-Z][A-Z0-9_]*)\"\\)", secrets);
                names.addAll(secrets);
                // Secrets.get(NAME) also reads NAME_FILE; getInline reads NAME only (its _FILE is a property)
                find(src, "secrets\\.get\\(\"([A-Z][A-Z0-9_]*)\"\\)", new TreeSet<>()).forEach(n -> names.add(n + "_FILE"));
                Set<String> plain = new TreeSet<>();
                find(src, "System\\.getenv\\(\"([A-Z][A-Z0-9_]*)\"\\)", plain);
                names.addAll(plain);
            }
        }
        return names;
    }

    private static Set<String> find(String text, String regex, Set<String> into) {
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) {
            into.add(m.group(1));
        }
        return into;
    }

    @Test
    void everyVariableTheServiceReadsIsInEnvExample() throws IOException {
        Set<String> read = serviceVariables();
        assertThat(read).contains("DATABASE_URL", "DATABASE_PASSWORD", "DATABASE_PASSWORD_FILE", "MQTT_PASSWORD_FILE",
                "LOG_FORMAT", "HEALTH_MAX_SILENCE_S", "CRASH_RECOVERY_ENABLED");
        assertThat(envExample()).containsAll(read);
    }

    @Test
    void everyVariableTheComposeFileUsesIsInEnvExample() throws IOException {
        Set<String> used = find(Files.readString(Path.of("docker-compose.yml")), "(?<!\\$)\\$\\{([A-Z][A-Z0-9_]*)", new TreeSet<>());
        assertThat(used).isNotEmpty();
        assertThat(envExample()).containsAll(used);
    }

    @Test
    @SuppressWarnings("unchecked")
    void composeHasTheThreeServicesWithHealthChecksAndTheSimulatorUnderAProfile() throws IOException {
        for (String name : List.of("db", "mosquitto", "fleet")) {
            Map<String, Object> hc = (Map<String, Object>) service(name).get("healthcheck");
            assertThat(hc).as(name + " healthcheck").isNotNull().containsKeys("test", "interval", "retries");
            assertThat(service(name).get("profiles")).as(name).isNull();
        }
        assertThat(String.valueOf(((Map<String, Object>) service("fleet").get("healthcheck")).get("test"))).contains("/observe/health/ready");
        Map<String, Object> fleet = service("fleet");
        Map<String, Object> dependsOn = (Map<String, Object>) fleet.get("depends_on");
        assertThat(dependsOn).containsKeys("db", "mosquitto");
        dependsOn.values().forEach(d -> assertThat(((Map<String, Object>) d).get("condition")).isEqualTo("service_healthy"));
        assertThat((List<String>) service("simulator").get("profiles")).containsExactly("simulator");
        assertThat(String.join(" ", (List<String>) service("simulator").get("command"))).startsWith("simulate ").contains("--ca-file");
    }

    @Test
    @SuppressWarnings("unchecked")
    void secretsAreDockerSecretsReadThroughFileVariables() throws IOException {
        Map<String, Object> env = (Map<String, Object>) service("fleet").get("environment");
        assertThat(env).containsKeys("DATABASE_PASSWORD_FILE", "MQTT_PASSWORD_FILE", "API_TOKENS_FILE")
                .doesNotContainKeys("DATABASE_PASSWORD", "MQTT_PASSWORD", "API_TOKENS");
        List<String> secrets = (List<String>) service("fleet").get("secrets");
        for (String key : List.of("DATABASE_PASSWORD_FILE", "MQTT_PASSWORD_FILE", "API_TOKENS_FILE")) {
            String path = String.valueOf(env.get(key));
            assertThat(path).startsWith("/run/secrets/");
            assertThat(secrets).contains(path.substring("/run/secrets/".length()));
        }
        assertThat(((Map<String, Object>) service("db").get("environment"))).containsKey("POSTGRES_PASSWORD_FILE")
                .doesNotContainKey("POSTGRES_PASSWORD");
        Map<String, Object> declared = (Map<String, Object>) compose().get("secrets");
        assertThat(declared).containsKeys("db_password", "mqtt_password", "mqtt_monitor_password", "api_tokens", "simulator_password");
        String envFile = Files.readString(Path.of(".env.example"));
        assertThat(envFile).doesNotContainPattern("(?m)^[A-Z_]*PASSWORD=.+").doesNotContainPattern("(?m)^API_TOKENS=.+");
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyMountedPathExistsOrIsMadeByADocumentedScript() throws IOException {
        Assumptions.assumeTrue(Files.exists(Path.of("mosquitto/acl")),
                "the hardened broker configuration (mosquitto/acl, conf.d, gen-certs.sh) is not in this checkout yet");
        List<String> hostPaths = new ArrayList<>();
        Map<String, Object> services = (Map<String, Object>) compose().get("services");
        for (Object s : services.values()) {
            Object volumes = ((Map<String, Object>) s).get("volumes");
            if (volumes != null) {
                for (Object v : (List<Object>) volumes) {
                    String spec = String.valueOf(v);
                    if (spec.startsWith("./")) {
                        hostPaths.add(spec.substring(2, spec.indexOf(':')));
                    }
                }
            }
        }
        for (Object secret : ((Map<String, Object>) compose().get("secrets")).values()) {
            hostPaths.add(String.valueOf(((Map<String, Object>) secret).get("file")).replaceFirst("^\\./", ""));
        }
        assertThat(hostPaths).contains("mosquitto/mosquitto.conf", "mosquitto/acl", "mosquitto/certs", "secrets/db_password");
        for (String path : hostPaths) {
            if (Files.exists(Path.of(path)) && !GENERATED.containsKey(path)) {
                continue;
            }
            String script = GENERATED.get(path);
            assertThat(script).as(path + " is neither in the repository nor made by a known script").isNotNull();
            assertThat(Path.of(script)).as("script for " + path).isExecutable();
            assertThat(Files.readString(Path.of("deploy/compose-init.sh")) + Files.readString(Path.of(script)))
                    .as(script + " makes " + path).contains(Path.of(path).getFileName().toString());
            assertThat(Files.readString(Path.of("docs/deployment.md"))).as("docs/deployment.md documents " + script).contains(script);
        }
    }

    /**
     * Every file deploy/compose-init.sh writes a secret to (passwords, API tokens, broker password
     * file, certificates and CA key) is ignored by git, so {@code git add -A} cannot commit one.
     */
    @Test
    void everyPathComposeInitWritesSecretsToIsGitIgnored() throws IOException, InterruptedException {
        String script = Files.readString(Path.of("deploy/compose-init.sh"));
        Set<String> written = new TreeSet<>();
        // password NAME -> secrets/NAME
        find(script, "(?m)^password ([A-Za-z0-9_]+)$", new TreeSet<>()).forEach(n -> written.add("secrets/" + n));
        // for spec in admin:admin prometheus:viewer ... -> secrets/<name>.token
        Matcher tokens = Pattern.compile("for spec in ([^;]+);").matcher(script);
        assertThat(tokens.find()).as("compose-init.sh's token loop").isTrue();
        for (String spec : tokens.group(1).trim().split("\\s+")) {
            written.add("secrets/" + spec.substring(0, spec.indexOf(':')) + ".token");
        }
        Matcher literal = Pattern.compile("(?:secrets|mosquitto)/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)?").matcher(script);
        while (literal.find()) {
            String path = literal.group();
            if (!path.endsWith(".sh") && !path.endsWith(".conf") && !path.equals("mosquitto/acl")) {
                written.add(path);
            }
        }
        written.add("mosquitto/certs/ca.key");
        assertThat(written).contains("secrets/db_password", "secrets/api_tokens", "secrets/admin.token",
                "secrets/prometheus.token", "mosquitto/passwd", "mosquitto/certs/server.key");
        Assumptions.assumeTrue(Files.exists(Path.of(".git")), "not a git checkout");
        for (String path : written) {
            // a directory the script writes into (mosquitto/certs/) is checked as a directory
            String asGitSees = script.contains(path + "/") ? path + "/" : path;
            Process git = new ProcessBuilder("git", "check-ignore", "-q", "--no-index", asGitSees).inheritIO().start();
            assertThat(git.waitFor()).as(path + " is ignored by .gitignore").isZero();
        }
    }

    /**
     * The broker's health check works with and without the plain loopback listener
     * (docs/runbooks/mqtt-tls.md §4 removes it): it speaks TLS on 8883 to the name the service
     * uses, checks the certificate against the mounted CA, and does not touch 1883.
     */
    @Test
    @SuppressWarnings("unchecked")
    void brokerHealthCheckUsesTheTlsListenerNotThePlainOne() throws IOException {
        String test = String.valueOf(((Map<String, Object>) service("mosquitto").get("healthcheck")).get("test"));
        assertThat(test).contains("mosquitto_sub").contains("-p 8883").contains("--cafile /mosquitto/certs/ca.crt")
                .contains("-u infoscreen-monitor").doesNotContain("1883").doesNotContain("--insecure");
        String url = String.valueOf(((Map<String, Object>) service("fleet").get("environment")).get("MQTT_URL"));
        Matcher host = Pattern.compile("ssl://([^:]+):8883").matcher(url);
        assertThat(host.matches()).as(url).isTrue();
        assertThat(test).contains("-h " + host.group(1));
        assertThat((List<String>) service("mosquitto").get("volumes")).contains("./mosquitto/certs:/mosquitto/certs:ro");
        // the TLS listener is in mosquitto.conf itself, not in conf.d (which the runbook empties)
        assertThat(Files.readString(Path.of("mosquitto/mosquitto.conf"))).containsPattern("(?m)^listener 8883\\s*$");
    }

    /** compose-init.sh takes SIMULATOR_CLIENTS etc. from the environment, else .env, else .env.example. */
    @Test
    void composeInitReadsItsSettingsFromDotEnv(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException, InterruptedException {
        String script = Files.readString(Path.of("deploy/compose-init.sh"));
        assertThat(script).contains("clients=\"$(setting SIMULATOR_CLIENTS 50)\"");
        Matcher fn = Pattern.compile("(?ms)^setting\\(\\) \\{.*?^}").matcher(script);
        assertThat(fn.find()).as("setting() in compose-init.sh").isTrue();
        Files.writeString(dir.resolve("setting.sh"), fn.group());
        Files.writeString(dir.resolve(".env.example"), "SIMULATOR_CLIENTS=50\nSERVER_DNS=mosquitto,localhost\n");
        Files.writeString(dir.resolve(".env"), "# raised\nSIMULATOR_CLIENTS=7\n");
        String probe = "set -euo pipefail; . ./setting.sh; "
                + "echo \"$(setting SIMULATOR_CLIENTS 50) $(setting SERVER_DNS x) $(setting SERVER_IPS 127.0.0.1)\"";
        assertThat(bash(dir, probe, Map.of())).isEqualTo("7 mosquitto,localhost 127.0.0.1");
        assertThat(bash(dir, probe, Map.of("SIMULATOR_CLIENTS", "3"))).startsWith("3 ");
        Files.delete(dir.resolve(".env"));
        assertThat(bash(dir, probe, Map.of())).startsWith("50 ");
    }

    private static String bash(Path dir, String command, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", command).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().remove("SIMULATOR_CLIENTS");
        pb.environment().remove("SERVER_DNS");
        pb.environment().remove("SERVER_IPS");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertThat(p.waitFor()).as(out).isZero();
        return out;
    }

    @Test
    void dockerfileIsAMultiStageNonRootJreBuildWithTheReadmeCommands() throws IOException {
        String dockerfile = Files.readString(Path.of("Dockerfile"));
        List<String> from = dockerfile.lines().filter(l -> l.startsWith("FROM ")).toList();
        assertThat(from).hasSizeGreaterThanOrEqualTo(2);
        assertThat(from.get(0)).contains(" AS build");
        assertThat(from.get(from.size() - 1)).contains("-jre");
        List<String> users = dockerfile.lines().filter(l -> l.startsWith("USER ")).toList();
        assertThat(users).isNotEmpty();
        assertThat(users.get(users.size() - 1)).doesNotContain("root").isNotEqualTo("USER 0");
        for (String copied : List.of("pom.xml", "src", "db", "routes")) {
            assertThat(dockerfile).contains("COPY " + copied + " ");
            assertThat(Path.of(copied)).exists();
        }

        // the README's first set-up command: "<build> && <run>"
        String readme = Files.readString(Path.of("README.md"));
        Matcher setUp = Pattern.compile("```sh\\n(mvn [^\\n]*package) && (java -jar [^\\n]*)\\n```").matcher(readme);
        assertThat(setUp.find()).as("README set-up command").isTrue();
        String build = setUp.group(1).trim();
        String run = setUp.group(2).trim();
        assertThat(dockerfile.lines().filter(l -> l.startsWith("RUN ")).map(l -> l.substring(4).trim()))
                .as("a RUN line with the README's build command").contains(build);
        Matcher entrypoint = Pattern.compile("(?m)^ENTRYPOINT \\[(.*)]$").matcher(dockerfile);
        assertThat(entrypoint.find()).isTrue();
        String exec = String.join(" ", Stream.of(entrypoint.group(1).split(","))
                .map(s -> s.trim().replaceAll("^\"|\"$", "")).toList());
        assertThat(exec).isEqualTo(run);
        assertThat(dockerfile).contains("HEALTHCHECK").contains("/observe/health/ready");
    }
}
