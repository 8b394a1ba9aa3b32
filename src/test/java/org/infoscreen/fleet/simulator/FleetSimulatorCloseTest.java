package org.infoscreen.fleet.simulator;

import org.infoscreen.fleet.TestServices;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A closed simulator leaves nothing behind that fails later: the MQTT client expires its
 * client-side session some time after the goodbye and reports that on the (closed) callback
 * scheduler; this must not surface as an uncaught exception in some other test or benchmark.
 */
class FleetSimulatorCloseTest {

    @Test
    void noUncaughtErrorAfterCloseWhenTheClientSessionExpires() throws InterruptedException {
        List<Throwable> uncaught = new CopyOnWriteArrayList<>();
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
        try {
            FleetSimulator fleet = FleetSimulator.start(SimulatorConfig.defaults()
                    .brokerUrl(TestServices.mqttUrl()).topicPrefix("simclose-" + System.nanoTime()).clients(3)
                    .sessionExpiry(Duration.ofSeconds(2)));
            assertThat(fleet.awaitConnected(Duration.ofSeconds(30))).isTrue();
            fleet.close();
            assertThat(fleet.online()).isZero();
            // past the session expiry: the client ends its local session and notifies its flows
            await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(uncaught).isEmpty());
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(before);
        }
    }
}
