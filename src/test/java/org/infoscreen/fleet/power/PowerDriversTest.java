package org.infoscreen.fleet.power;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.infoscreen.fleet.rest.ApiException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link PowerDrivers} on the shipped kamelet files (routes/kamelets) and on broken ones: the
 * declared schema, the plan, the endpoint URI that carries no value, the outlet key.
 */
class PowerDriversTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final PowerDrivers drivers = new PowerDrivers(JSON, "file:routes/kamelets");

    @Test
    void everyShippedDriverIsAValidDriverWithDocumentedParameters() {
        for (String name : new String[] {"shelly-gen1", "shelly-gen2", "tasmota", "raritan-px", "redfish", "wake-on-lan", "http-webhook"}) {
            PowerDriver d = drivers.driver(name);
            assertThat(d.kamelet()).isEqualTo(name + "-power-action");
            assertThat(d.properties().values()).as(name).allSatisfy(p -> {
                assertThat(p.title()).isNotBlank();
                assertThat(p.description()).isNotBlank();
                assertThat(p.example()).as(name + "." + p.name() + " example").isNotNull();
            });
        }
        assertThat(drivers.driver("shelly-gen2").plan()).isEqualTo(PowerDriver.Plan.NATIVE);
        assertThat(drivers.driver("http-webhook").plan()).isEqualTo(PowerDriver.Plan.OFF_ON);
        assertThat(drivers.driver("wake-on-lan").plan()).isEqualTo(PowerDriver.Plan.ON_ONLY);
        assertThat(drivers.driver("wake-on-lan").canQuery()).isFalse();
        assertThat(drivers.driver("tasmota").secretProperty()).isEqualTo("password");
    }

    @Test
    void endpointUriBindsEveryParameterToTheExchangeAndCarriesNoValue() {
        String uri = drivers.endpointUri(drivers.driver("shelly-gen2"));
        assertThat(uri).isEqualTo("kamelet:shelly-gen2-power-action?host=RAW(${exchangeProperty.powerParams[host]})"
                + "&switch_id=RAW(${exchangeProperty.powerParams[switch_id]})&password=RAW(${exchangeProperty.powerSecret})");
    }

    @Test
    void outletKeyIdentifiesTheOutletWithDefaultsAndWithoutOtherParameters() {
        PowerDriver d = drivers.driver("shelly-gen2");
        assertThat(drivers.outletKey(d, Map.of("host", "10.0.0.5"))).isEqualTo("shelly-gen2:{\"host\":\"10.0.0.5\",\"switch_id\":0}");
        assertThat(drivers.outletKey(d, Map.of("host", "10.0.0.5", "switch_id", 1L))).isNotEqualTo(drivers.outletKey(d, Map.of("host", "10.0.0.5")));
        PowerDriver raritan = drivers.driver("raritan-px");
        assertThat(drivers.outletKey(raritan, Map.of("host", "pdu", "outlet", 3L, "tls_insecure", true)))
                .isEqualTo(drivers.outletKey(raritan, Map.of("host", "PDU", "outlet", 3L)));
    }

    @Test
    void aBrokenDriverFileIsReportedWithTheReason(@TempDir Path dir) throws IOException {
        PowerDrivers local = new PowerDrivers(JSON, "file:" + dir);
        Files.writeString(dir.resolve("bad-power-action.kamelet.yaml"), """
                apiVersion: camel.apache.org/v1
                kind: Kamelet
                metadata:
                  name: other-name-power-action
                """);
        assertThatThrownBy(() -> local.driver("bad")).isInstanceOf(ApiException.class)
                .hasMessageContaining("metadata.name must be bad-power-action");
        Files.writeString(dir.resolve("noops-power-action.kamelet.yaml"), """
                kind: Kamelet
                metadata:
                  name: noops-power-action
                  annotations:
                    fleet.infoscreen.org/power-operations: "query,reboot"
                """);
        assertThatThrownBy(() -> local.driver("noops")).hasMessageContaining("unknown operation 'reboot'");
        assertThatThrownBy(() -> local.driver("absent")).isInstanceOf(ApiException.class)
                .satisfies(e -> assertThat(((ApiException) e).code()).isEqualTo("unknown_driver"));
    }
}
