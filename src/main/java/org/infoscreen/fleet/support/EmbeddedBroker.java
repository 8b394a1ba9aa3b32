package org.infoscreen.fleet.support;

import com.hivemq.embedded.EmbeddedHiveMQ;
import org.apache.camel.Service;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Development-mode MQTT 5 broker (HiveMQ Community Edition, embedded) started when no
 * {@code MQTT_URL} is configured. It accepts every client (no authentication) and is meant for
 * a laptop demo, never for production. Persistent sessions are kept in {@code dataDir}.
 */
public final class EmbeddedBroker implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedBroker.class);

    private final EmbeddedHiveMQ hivemq;
    private final String bindAddress;
    private final int port;

    private EmbeddedBroker(EmbeddedHiveMQ hivemq, String bindAddress, int port) {
        this.hivemq = hivemq;
        this.bindAddress = bindAddress;
        this.port = port;
    }

    /**
     * Starts the broker with one plain TCP listener.
     *
     * @param dataDir     directory for configuration, persistence and (empty) extensions
     * @param bindAddress listener address, e.g. {@code 0.0.0.0} so displays on the LAN can connect
     * @param port        listener port (default 1884, so it does not clash with a broker on 1883)
     * @throws IllegalStateException when the broker does not start within 60 s
     */
    public static EmbeddedBroker start(Path dataDir, String bindAddress, int port) {
        try {
            Path conf = Files.createDirectories(dataDir.resolve("conf"));
            Path data = Files.createDirectories(dataDir.resolve("data"));
            Path ext = Files.createDirectories(dataDir.resolve("extensions"));
            Files.writeString(conf.resolve("config.xml"), """
                    <?xml version="1.0"?>
                    <hivemq>
                      <listeners>
                        <tcp-listener>
                          <port>%d</port>
                          <bind-address>%s</bind-address>
                        </tcp-listener>
                      </listeners>
                      <mqtt>
                        <!-- the default of 1000 queued messages per client silently drops QoS 1
                             messages for a persistent service session that is away or busy -->
                        <queued-messages>
                          <max-queue-size>1000000</max-queue-size>
                          <strategy>discard</strategy>
                        </queued-messages>
                      </mqtt>
                      <anonymous-usage-statistics><enabled>false</enabled></anonymous-usage-statistics>
                    </hivemq>
                    """.formatted(port, bindAddress));
            EmbeddedHiveMQ hivemq = EmbeddedHiveMQ.builder()
                    .withConfigurationFolder(conf)
                    .withDataFolder(data)
                    .withExtensionsFolder(ext)
                    .withoutLoggingBootstrap()
                    .build();
            hivemq.start().get(60, TimeUnit.SECONDS);
            LOG.info("Embedded MQTT 5 broker (HiveMQ CE) listening on {}:{} without authentication — development only",
                    bindAddress, port);
            return new EmbeddedBroker(hivemq, bindAddress, port);
        } catch (IOException e) {
            throw new UncheckedIOException("embedded MQTT broker: cannot prepare " + dataDir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the embedded MQTT broker", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("embedded MQTT broker did not start on port " + port + ": " + e.getMessage(), e);
        }
    }

    /** @return the URL the service itself connects to, e.g. {@code tcp://127.0.0.1:1884} */
    public String brokerUrl() {
        String host = "0.0.0.0".equals(bindAddress) ? "127.0.0.1" : bindAddress;
        return "tcp://" + host + ":" + port;
    }

    @Override
    public void start() {
        // started in the factory method
    }

    @Override
    public void stop() {
        try {
            hivemq.stop().get(30, TimeUnit.SECONDS);
            hivemq.close();
            LOG.info("Embedded MQTT broker stopped");
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.warn("Embedded MQTT broker did not stop cleanly: {}", e.getMessage());
        }
    }
}
