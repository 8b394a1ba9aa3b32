package org.infoscreen.fleet.logging;

import org.apache.camel.Exchange;
import org.apache.camel.spi.CamelLogger;
import org.apache.camel.spi.LogListener;
import org.infoscreen.fleet.support.Text;
import org.slf4j.MDC;

import java.util.Map;

/**
 * Puts the client UUID and command id of the exchange into the MDC ({@code client_uuid},
 * {@code command_id}) while a route's {@code log} step writes, so each such line carries them as
 * fields (JSON layout). Sources, first found wins: headers {@code clientUuid} / {@code commandId} /
 * {@code fleetCommandId}, the body map's {@code uuid} / {@code command_id}, the recovery decision
 * ({@code fleetDecision}), and the UUID level of the MQTT topic. {@link #clear()} removes them when
 * the exchange completes.
 */
public class RouteLogContext implements LogListener {

    @Override
    public String onLog(Exchange exchange, CamelLogger camelLogger, String message) {
        put("client_uuid", clientUuid(exchange));
        put("command_id", commandId(exchange));
        return message;
    }

    /** Removes the fields again (called when an exchange completes). */
    public static void clear() {
        MDC.remove("client_uuid");
        MDC.remove("command_id");
    }

    private static void put(String key, Object value) {
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, String.valueOf(value));
        }
    }

    static Object clientUuid(Exchange exchange) {
        Object v = exchange.getMessage().getHeader("clientUuid");
        if (v == null) {
            v = fromMap(exchange.getMessage().getBody(), "uuid");
        }
        if (v == null) {
            v = fromMap(exchange.getProperty("fleetDecision"), "uuid");
        }
        if (v == null) {
            String topic = exchange.getMessage().getHeader("CamelMqttTopic", String.class);
            if (topic != null) {
                for (String level : topic.split("/")) {
                    if (Text.UUID_PATTERN.matcher(level).matches()) {
                        return level;
                    }
                }
            }
        }
        return v;
    }

    static Object commandId(Exchange exchange) {
        Object v = exchange.getMessage().getHeader("commandId");
        if (v == null) {
            v = exchange.getMessage().getHeader("fleetCommandId");
        }
        if (v == null) {
            v = fromMap(exchange.getMessage().getBody(), "command_id");
        }
        if (v == null) {
            v = fromMap(exchange.getProperty("fleetDecision"), "command_id");
        }
        return v;
    }

    private static Object fromMap(Object o, String key) {
        return o instanceof Map<?, ?> m ? m.get(key) : null;
    }
}
