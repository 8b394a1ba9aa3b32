package org.infoscreen.fleet;

import org.infoscreen.fleet.support.EmbeddedBroker;
import org.infoscreen.fleet.support.EmbeddedDatabase;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The PostgreSQL and MQTT broker the tests talk to, once per JVM. The machine's services are
 * used when they answer (PostgreSQL 127.0.0.1:5432 database {@code test}, Mosquitto
 * 127.0.0.1:1883; override with TEST_DATABASE_URL / TEST_MQTT_URL); otherwise the embedded
 * ones are started, and the test log says so. {@code FLEET_TEST_EMBEDDED=true} forces the embedded
 * ones (to check the fresh-machine path on a machine that has the services).
 */
public final class TestServices {

    private static String databaseUrl;
    private static String mqttUrl;
    private static boolean embeddedMqtt;

    private TestServices() {
    }

    /** @return JDBC URL of the test database (user postgres, no password) */
    public static synchronized String databaseUrl() {
        if (databaseUrl == null) {
            String configured = System.getenv("TEST_DATABASE_URL");
            if (configured != null && !configured.isBlank()) {
                databaseUrl = configured;
            } else if (!forceEmbedded() && answers("127.0.0.1", 5432)) {
                databaseUrl = "jdbc:postgresql://127.0.0.1:5432/test";
            } else {
                try {
                    Path dir = Files.createTempDirectory("fleet-test-pg");
                    EmbeddedDatabase db = EmbeddedDatabase.start(dir, 0);
                    databaseUrl = db.jdbcUrl();
                    System.out.println("[tests] no PostgreSQL on 127.0.0.1:5432: using embedded PostgreSQL at " + databaseUrl);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return databaseUrl;
    }

    /** @return broker URL for tests ({@code tcp://host:port}) */
    public static synchronized String mqttUrl() {
        if (mqttUrl == null) {
            String configured = System.getenv("TEST_MQTT_URL");
            if (configured != null && !configured.isBlank()) {
                mqttUrl = configured;
            } else if (!forceEmbedded() && answers("127.0.0.1", 1883)) {
                mqttUrl = "tcp://127.0.0.1:1883";
            } else {
                try {
                    Path dir = Files.createTempDirectory("fleet-test-mqtt");
                    EmbeddedBroker broker = EmbeddedBroker.start(dir, "127.0.0.1", freePort());
                    mqttUrl = broker.brokerUrl();
                    embeddedMqtt = true;
                    System.out.println("[tests] no MQTT broker on 127.0.0.1:1883: using embedded HiveMQ at " + mqttUrl);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return mqttUrl;
    }

    private static boolean forceEmbedded() {
        return "true".equals(System.getenv("FLEET_TEST_EMBEDDED"));
    }

    /** @return whether the tests run against the embedded broker */
    public static synchronized boolean embeddedMqtt() {
        mqttUrl();
        return embeddedMqtt;
    }

    /** @return a TCP port that was free a moment ago */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return whether something accepts TCP connections at host:port within 500 ms */
    public static boolean answers(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
