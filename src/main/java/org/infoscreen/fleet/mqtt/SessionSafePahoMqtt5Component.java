package org.infoscreen.fleet.mqtt;

import org.apache.camel.Consumer;
import org.apache.camel.Endpoint;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Component;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5ComponentConfigurer;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5EndpointConfigurer;
import org.apache.camel.spi.PropertyConfigurer;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Configuration;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Endpoint;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;

import java.util.Map;
import java.util.UUID;

/**
 * The camel-paho-mqtt5 component with a consumer that does not lose the messages of a resumed
 * persistent session. Bound in the registry as {@code paho-mqtt5}, so routes keep the standard
 * URI and options.
 *
 * <p>Why: camel-paho-mqtt5 4.17's consumer connects first and sets its callback afterwards. With
 * {@code cleanStart=false} the broker delivers the queued QoS 1 messages right after CONNACK;
 * Paho acknowledges messages that arrive before a callback exists and they never reach the route
 * (measured: about 300 of 1,500 queued messages lost). {@link SessionSafeMqttConsumer} sets the
 * callback before connecting. Producers ({@link BoundedWaitMqttProducer}) bound every wait for
 * the broker, so a broker that stops answering cannot hang a REST request or a sweep.
 *
 * <p>Both keep their connection with {@link MqttConnection} instead of Paho's automatic
 * reconnect: the {@link MqttSecurity} of the component (user, password, TLS) is applied afresh
 * to every attempt, so rotated credentials and certificates take effect on the next reconnect,
 * and every failed attempt is counted by the {@link MqttConnectionMonitor}. An endpoint that sets
 * its own {@code userName} or {@code socketFactory} keeps them.
 */
public class SessionSafePahoMqtt5Component extends PahoMqtt5Component {

    private MqttSecurity security;
    private MqttConnectionMonitor connectionMonitor;
    private long retryMaxDelayMs = 5_000;

    /** @param security user, password and TLS applied to every connection attempt of this component's endpoints */
    public void setSecurity(MqttSecurity security) {
        this.security = security;
    }

    /** @param connectionMonitor where connection states and failures are reported */
    public void setConnectionMonitor(MqttConnectionMonitor connectionMonitor) {
        this.connectionMonitor = connectionMonitor;
    }

    /**
     * @param retryMaxDelayMs longest pause (milliseconds) before a consumer runs a message whose
     *                        route failed again (database down); the pause starts at 0.5 s and doubles
     */
    public void setRetryMaxDelayMs(long retryMaxDelayMs) {
        this.retryMaxDelayMs = retryMaxDelayMs;
    }

    @Override
    public PropertyConfigurer getComponentPropertyConfigurer() {
        return new PahoMqtt5ComponentConfigurer();
    }

    @Override
    public PropertyConfigurer getEndpointPropertyConfigurer() {
        // the generated configurer is looked up by class name; a subclass must name it
        return new PahoMqtt5EndpointConfigurer();
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        // let the standard endpoint (and its generated configurer) bind every URI option, then take its configuration
        PahoMqtt5Endpoint configured = (PahoMqtt5Endpoint) super.createEndpoint(uri, remaining, parameters);
        return new SessionSafeEndpoint(uri, remaining, this, configured.getConfiguration());
    }

    /** Endpoint that creates a {@link SessionSafeMqttConsumer}. */
    public static class SessionSafeEndpoint extends PahoMqtt5Endpoint {

        SessionSafeEndpoint(String uri, String topic, PahoMqtt5Component component, PahoMqtt5Configuration configuration) {
            super(uri, topic, component, configuration);
        }

        @Override
        public Producer createProducer() throws Exception {
            return new BoundedWaitMqttProducer(this);
        }

        @Override
        public Consumer createConsumer(Processor processor) throws Exception {
            SessionSafeMqttConsumer consumer = new SessionSafeMqttConsumer(this, processor);
            configureConsumer(consumer);
            return consumer;
        }

        /**
         * @return options for one connection attempt: the endpoint configuration (session,
         *         keep-alive, timeouts) plus the component's current credentials and TLS files;
         *         Paho's automatic reconnect is off ({@link MqttConnection} reconnects)
         * @throws MqttException (reason 32106, SSL configuration error) when a TLS file cannot be used, (reason 0)
         *                       when the password file cannot be read
         */
        MqttConnectionOptions connectionOptions() throws MqttException {
            MqttConnectionOptions options = createMqttConnectionOptions();
            options.setAutomaticReconnect(false);
            SessionSafePahoMqtt5Component component = (SessionSafePahoMqtt5Component) getComponent();
            PahoMqtt5Configuration config = getConfiguration();
            if (component.security != null && config.getUserName() == null && config.getSocketFactory() == null) {
                try {
                    component.security.apply(options);
                } catch (org.infoscreen.fleet.tls.TlsFileException e) {
                    throw new MqttException(org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_SSL_CONFIG_ERROR, e);
                } catch (MqttSettingsException e) {
                    throw new MqttException(org.eclipse.paho.mqttv5.common.MqttException.REASON_CODE_CLIENT_EXCEPTION, e);
                }
            }
            return options;
        }

        /** @return longest pause in milliseconds before a failed message is run again (the component's setting) */
        long retryMaxDelayMs() {
            return ((SessionSafePahoMqtt5Component) getComponent()).retryMaxDelayMs;
        }

        /** @return where this endpoint's connections report (a private one when none is configured) */
        MqttConnectionMonitor connectionMonitor() {
            SessionSafePahoMqtt5Component component = (SessionSafePahoMqtt5Component) getComponent();
            if (component.connectionMonitor == null) {
                component.connectionMonitor = new MqttConnectionMonitor(
                        new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), java.time.Clock.systemUTC());
            }
            return component.connectionMonitor;
        }

        /**
         * @return a new, unconnected Paho client for the configured broker, with the configured
         *         client id (a random {@code camel-…} one when none is set) and persistence
         * @throws MqttException when the broker URL is invalid
         */
        MqttClient newClient() throws MqttException {
            PahoMqtt5Configuration config = getConfiguration();
            String clientId = config.getClientId() != null ? config.getClientId() : "camel-" + UUID.randomUUID();
            return new MqttClient(config.getBrokerUrl(), clientId, createMqttClientPersistence(config));
        }
    }
}
