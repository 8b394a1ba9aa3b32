package org.infoscreen.fleet.rest;

import org.infoscreen.fleet.support.Text;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Set;
import java.util.UUID;

/**
 * Validates REST path and query parameters before any SQL runs. Each method returns the typed
 * value or throws {@link ApiException} 400 with a stable code.
 */
public class ApiRequests {

    /** Liveness states a client can be in (DESIGN.md §5). */
    public static final Set<String> LIVENESS_STATES = Set.of("online", "crashed", "stale", "offline");


    private final ObjectMapper mapper;

    /** @param mapper Jackson mapper for request bodies */
    public ApiRequests(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * The request body as text: JSON bodies must be UTF-8 (RFC 8259 §8.1); other bytes are refused
     * instead of being decoded with replacement characters.
     *
     * @param body raw request body, may be {@code null}
     * @return the decoded body ({@code null} for none)
     * @throws ApiException 400 {@code invalid_body} when the bytes are not UTF-8
     */
    public String utf8Body(byte[] body) {
        if (body == null) {
            return null;
        }
        try {
            return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(body)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ApiException(400, "invalid_body", "the body is not valid UTF-8");
        }
    }

    /**
     * @param value path parameter
     * @return the UUID
     * @throws ApiException 400 {@code invalid_uuid}
     */
    public UUID uuid(String value) {
        if (value == null || !Text.UUID_PATTERN.matcher(value).matches()) {
            throw new ApiException(400, "invalid_uuid", "'" + Text.abbreviate(value) + "' is not a UUID");
        }
        return UUID.fromString(value);
    }

    /**
     * @param count number of clients found with that UUID (0 or 1)
     * @param uuid  the UUID asked for
     * @return the UUID when the client exists
     * @throws ApiException 404 {@code client_not_found}
     */
    public UUID requireClient(long count, UUID uuid) {
        if (count == 0) {
            throw ApiException.clientNotFound(uuid);
        }
        return uuid;
    }

    /**
     * @param value optional {@code liveness_state} query parameter
     * @return the state, or {@code ""} for "all"
     * @throws ApiException 400 {@code invalid_liveness_state}
     */
    public String livenessState(String value) {
        if (value == null || value.isEmpty()) {
            return "";
        }
        if (!LIVENESS_STATES.contains(value)) {
            throw new ApiException(400, "invalid_liveness_state",
                    "liveness_state must be one of " + LIVENESS_STATES.stream().sorted().toList());
        }
        return value;
    }

    /**
     * @param value optional {@code limit} query parameter
     * @return 1..500, default 50
     * @throws ApiException 400 {@code invalid_limit}
     */
    public int limit(String value) {
        return boundedInt(value, "limit", 50, 1, 500);
    }

    /**
     * @param value optional {@code before_id} cursor (an event id) for the next page
     * @return the cursor, or {@link Long#MAX_VALUE} for the first page
     * @throws ApiException 400 {@code invalid_before_id}
     */
    public long beforeId(String value) {
        if (value == null || value.isEmpty()) {
            return Long.MAX_VALUE;
        }
        try {
            long v = Long.parseLong(value);
            if (v < 1) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new ApiException(400, "invalid_before_id", "before_id must be a positive integer");
        }
    }

    private static int boundedInt(String value, String name, int dflt, int min, int max) {
        if (value == null || value.isEmpty()) {
            return dflt;
        }
        try {
            int v = Integer.parseInt(value);
            if (v < min || v > max) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new ApiException(400, "invalid_" + name, name + " must be an integer from " + min + " to " + max);
        }
    }

}
