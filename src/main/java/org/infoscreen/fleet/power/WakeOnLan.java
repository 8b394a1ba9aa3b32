package org.infoscreen.fleet.power;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * Sends a Wake-on-LAN magic packet (bean {@code wakeOnLan}, used by the
 * {@code wake-on-lan-power-action} kamelet): six bytes {@code 0xFF} followed by the target's MAC
 * address sixteen times (102 bytes), as one UDP datagram to a broadcast or relay address.
 *
 * <p>Hand-written rather than through camel-netty: it is one datagram, and a Netty UDP endpoint
 * would keep a channel pool per target address for it.
 */
public class WakeOnLan {

    private static final Pattern MAC = Pattern.compile("([0-9A-Fa-f]{2})([:-]?)([0-9A-Fa-f]{2})(\\2[0-9A-Fa-f]{2}){4}");

    /**
     * @param mac MAC address, {@code aa:bb:cc:dd:ee:ff}, {@code aa-bb-…} or {@code aabbccddeeff}
     * @return the 102-byte magic packet
     * @throws PowerFatalException when the MAC address is malformed
     */
    public byte[] magicPacket(String mac) {
        if (mac == null || !MAC.matcher(mac).matches()) {
            throw new PowerFatalException("configuration: '" + org.infoscreen.fleet.support.Text.abbreviate(mac) + "' is not a MAC address");
        }
        String hex = mac.replaceAll("[:-]", "");
        byte[] addr = new byte[6];
        for (int i = 0; i < 6; i++) {
            addr[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        byte[] packet = new byte[6 + 16 * 6];
        for (int i = 0; i < 6; i++) {
            packet[i] = (byte) 0xFF;
        }
        for (int i = 6; i < packet.length; i += 6) {
            System.arraycopy(addr, 0, packet, i, 6);
        }
        return packet;
    }

    /**
     * Sends the magic packet.
     *
     * @param mac     the display's MAC address
     * @param address broadcast or relay address (IP or host name), e.g. {@code 10.20.0.255}
     * @param port    UDP port, usually 9 (discard) or 7
     * @return {@code unknown}: Wake-on-LAN cannot read the state; the new boot_id confirms it
     * @throws PowerFatalException for a malformed MAC or an unknown host
     * @throws PowerRetryableException when the datagram could not be sent
     */
    public String send(String mac, String address, int port) {
        byte[] packet = magicPacket(mac);
        InetAddress target;
        try {
            target = InetAddress.getByName(address);
        } catch (UnknownHostException e) {
            throw new PowerFatalException("configuration: unknown broadcast address '" + org.infoscreen.fleet.support.Text.abbreviate(address) + "'");
        }
        if (port < 1 || port > 65535) {
            throw new PowerFatalException("configuration: port " + port + " is not a UDP port");
        }
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.setBroadcast(true);
            socket.send(new DatagramPacket(packet, packet.length, target, port));
        } catch (IOException e) {
            throw new PowerRetryableException("cannot send the magic packet: " + e.getMessage());
        }
        return "unknown";
    }
}
