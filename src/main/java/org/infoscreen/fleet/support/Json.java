package org.infoscreen.fleet.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/** The one Jackson configuration of the service: ISO-8601 times, no timestamps as numbers. */
public final class Json {

    private Json() {
    }

    /** @return a new mapper that writes {@code java.time} values as ISO-8601 strings */
    public static ObjectMapper mapper() {
        return new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    }

    /**
     * Why a JSON document cannot be stored in PostgreSQL as it is: a string or key anywhere in it
     * holds the NUL character or an unpaired surrogate ({@link Text#unstorable(String)}).
     *
     * @param node a parsed document, may be {@code null}
     * @return {@code null} when every string and key can be stored, otherwise what is wrong
     */
    public static String unstorable(JsonNode node) {
        if (node == null) {
            return null;
        }
        if (node.isTextual()) {
            return Text.unstorable(node.textValue());
        }
        var fields = node.fieldNames();
        while (fields.hasNext()) {
            String problem = Text.unstorable(fields.next());
            if (problem != null) {
                return problem;
            }
        }
        for (JsonNode child : node) {
            String problem = unstorable(child);
            if (problem != null) {
                return problem;
            }
        }
        return null;
    }
}
