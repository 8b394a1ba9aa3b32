package org.infoscreen.fleet.power;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.infoscreen.fleet.support.Text;

/**
 * Reads device answers for the power-driver kamelets (bean {@code powerJson}) with JSON Pointers
 * (RFC 6901), e.g. {@code /result/output} or
 * {@code /Actions/#ComputerSystem.Reset/ResetType@Redfish.AllowableValues}: keys with dots, hashes
 * and at-signs that Camel's simple language cannot address.
 */
public class PowerJson {

    private final ObjectMapper mapper;

    /** @param mapper the service's JSON mapper */
    public PowerJson(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * @param json    a device's answer
     * @param pointer JSON Pointer
     * @return the value there as text ({@code true}, {@code 42}, {@code "On"} → {@code On}); a
     *         container as JSON; {@code null} when it is missing or JSON null
     * @throws PowerFatalException when the answer is not JSON
     */
    public String text(String json, String pointer) {
        JsonNode n = tree(json).at(pointer);
        if (n.isMissingNode() || n.isNull()) {
            return null;
        }
        return n.isValueNode() ? n.asText() : n.toString();
    }

    /**
     * @param json    a device's answer
     * @param pointer JSON Pointer
     * @return whether a non-null value is there
     * @throws PowerFatalException when the answer is not JSON
     */
    public boolean has(String json, String pointer) {
        JsonNode n = tree(json).at(pointer);
        return !n.isMissingNode() && !n.isNull();
    }

    /**
     * @param json    a device's answer
     * @param pointer JSON Pointer to an array
     * @param value   a text value
     * @return whether the array there contains the value
     * @throws PowerFatalException when the answer is not JSON
     */
    public boolean contains(String json, String pointer, String value) {
        JsonNode n = tree(json).at(pointer);
        if (n.isArray()) {
            for (JsonNode e : n) {
                if (e.asText().equals(value)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * @param k1 first key
     * @param v1 first value
     * @param k2 second key
     * @param v2 second value
     * @return a JSON object with two text fields, properly escaped (e.g. a login body)
     */
    public String object(String k1, String v1, String k2, String v2) {
        var o = mapper.createObjectNode();
        o.put(k1, v1);
        o.put(k2, v2);
        return o.toString();
    }

    /**
     * @param k1 key
     * @param v1 value
     * @return a JSON object with one text field, properly escaped
     */
    public String object(String k1, String v1) {
        return mapper.createObjectNode().put(k1, v1).toString();
    }

    private JsonNode tree(String json) {
        try {
            JsonNode n = json == null || json.isBlank() ? null : mapper.readTree(json);
            if (n == null) {
                throw new PowerFatalException("the device answered with an empty body where JSON was expected");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new PowerFatalException("the device answered something that is not JSON: " + Text.abbreviate(json));
        }
    }
}
