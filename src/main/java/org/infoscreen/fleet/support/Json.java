package org.infoscreen.fleet.support;

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
}
