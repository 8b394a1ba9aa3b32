package org.infoscreen.fleet.commands;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds the MQTT message of a command (DESIGN.md §2): topic {@code <prefix>/<uuid>/commands},
 * JSON payload {@code command_id, action, issued_at, expires_at, reason, params}, and the MQTT 5
 * properties: message expiry interval = whole seconds left until {@code expires_at} (so the
 * broker drops a command a device would otherwise receive late), response topic
 * {@code <prefix>/<uuid>/commands/ack}, correlation data = the command id (UTF-8).
 */
public class CommandMessages {

    private final ObjectMapper mapper;
    private final String topicPrefix;

    /**
     * @param mapper      Jackson mapper
     * @param topicPrefix first topic level(s), e.g. {@code infoscreen}
     */
    public CommandMessages(ObjectMapper mapper, String topicPrefix) {
        this.mapper = mapper;
        this.topicPrefix = topicPrefix.endsWith("/") ? topicPrefix.substring(0, topicPrefix.length() - 1) : topicPrefix;
    }

    /** @return {@code <prefix>/<uuid>/commands} for a command row */
    public String topic(Map<String, Object> command) {
        return topicPrefix + "/" + command.get("client_uuid") + "/commands";
    }

    /** @return the JSON payload for a command row */
    public String payload(Map<String, Object> command) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("command_id", String.valueOf(command.get("id")));
        doc.put("action", command.get("action"));
        doc.put("issued_at", instant(command.get("created_at")).toString());
        doc.put("expires_at", instant(command.get("expires_at")).toString());
        doc.put("reason", command.get("reason"));
        doc.put("params", Map.of());
        try {
            return mapper.writeValueAsString(doc);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * @param command a command row
     * @param now     the current time
     * @return MQTT 5 publish properties (message expiry, response topic, correlation data, content type)
     * @throws IllegalStateException when the command has already expired (it must not be sent)
     */
    public MqttProperties mqttPropertiesAt(Map<String, Object> command, Instant now) {
        long left = Duration.between(now, instant(command.get("expires_at"))).getSeconds();
        if (left <= 0) {
            throw new IllegalStateException("command " + command.get("id") + " has expired; not publishing it");
        }
        MqttProperties p = new MqttProperties();
        p.setMessageExpiryInterval(left);
        p.setResponseTopic(topicPrefix + "/" + command.get("client_uuid") + "/commands/ack");
        p.setCorrelationData(String.valueOf(command.get("id")).getBytes(StandardCharsets.UTF_8));
        p.setContentType("application/json");
        p.setPayloadFormat(true);
        return p;
    }

    /** @return {@link #mqttPropertiesAt(Map, Instant)} at the current time */
    public MqttProperties mqttProperties(Map<String, Object> command) {
        return mqttPropertiesAt(command, Instant.now());
    }

    static Instant instant(Object value) {
        if (value instanceof Timestamp ts) {
            return ts.toInstant();
        }
        if (value instanceof OffsetDateTime odt) {
            return odt.toInstant();
        }
        if (value instanceof Instant i) {
            return i;
        }
        throw new IllegalArgumentException("not a time: " + value);
    }
}
