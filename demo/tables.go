package demo

// Read-only tables of the generator. Nothing here is real data about
// particular shops or housing companies: the names are common Finnish shop
// chains and street names, combined at random.

// tierByMunicipality ranks the biggest municipalities (by Finnish name, as
// in Posti's file): 3 for the six biggest cities, 2 for the other regional
// centres and big towns. Any other municipality is tier 1 when it has at
// least townAreaCodes ordinary postal areas, else tier 0.
var tierByMunicipality = map[string]int{
	"Helsinki": 3, "Espoo": 3, "Vantaa": 3, "Tampere": 3, "Turku": 3, "Oulu": 3,
	"Jyväskylä": 2, "Kuopio": 2, "Lahti": 2, "Pori": 2, "Kouvola": 2, "Joensuu": 2,
	"Lappeenranta": 2, "Hämeenlinna": 2, "Vaasa": 2, "Seinäjoki": 2, "Rovaniemi": 2,
	"Mikkeli": 2, "Kotka": 2, "Salo": 2, "Porvoo": 2, "Kokkola": 2, "Lohja": 2,
	"Hyvinkää": 2, "Järvenpää": 2, "Rauma": 2, "Kajaani": 2, "Kerava": 2,
	"Nurmijärvi": 2, "Tuusula": 2, "Kirkkonummi": 2, "Kangasala": 2, "Nokia": 2,
	"Ylöjärvi": 2, "Kaarina": 2, "Vihti": 2, "Raisio": 2, "Riihimäki": 2, "Savonlinna": 2,
}

// townAreaCodes is how many ordinary postal areas make a municipality a
// town (tier 1).
const townAreaCodes = 6

// cityStreets are well-known street names of the biggest towns, used there
// besides the generic urban names.
var cityStreets = map[string][]string{
	"Helsinki": {"Mannerheimintie", "Aleksanterinkatu", "Hämeentie", "Runeberginkatu", "Fredrikinkatu",
		"Bulevardi", "Mechelininkatu", "Topeliuksenkatu", "Kaisaniemenkatu", "Lönnrotinkatu",
		"Albertinkatu", "Iso Roobertinkatu", "Tehtaankatu", "Sturenkatu", "Mäkelänkatu", "Itämerenkatu"},
	"Espoo": {"Kauppamiehentie", "Merituulentie", "Leppävaarankatu", "Kirkkojärventie", "Piispansilta",
		"Otaniementie", "Kamreerintie"},
	"Vantaa": {"Tikkurilantie", "Ratatie", "Kielotie", "Valkoisenlähteentie", "Vanha Kaarelantie", "Myyrmäenraitti"},
	"Tampere": {"Hämeenkatu", "Satakunnankatu", "Hämeenpuisto", "Itsenäisyydenkatu", "Kuninkaankatu",
		"Aleksanterinkatu", "Pirkankatu", "Sammonkatu", "Teiskontie", "Puutarhakatu", "Näsilinnankatu", "Hallituskatu"},
	"Turku": {"Aurakatu", "Eerikinkatu", "Yliopistonkatu", "Humalistonkatu", "Linnankatu", "Hämeenkatu",
		"Kauppiaskatu", "Brahenkatu", "Uudenmaankatu", "Puolalankatu", "Rauhankatu", "Sirkkalankatu"},
	"Oulu": {"Isokatu", "Hallituskatu", "Kauppurienkatu", "Pakkahuoneenkatu", "Saaristonkatu",
		"Uusikatu", "Kajaaninkatu", "Mäkelininkatu"},
	"Jyväskylä": {"Kilpisenkatu", "Väinönkatu", "Vapaudenkatu", "Yliopistonkatu"},
	"Kuopio":    {"Puijonkatu", "Minna Canthin katu", "Haapaniemenkatu", "Tulliportinkatu", "Kasarmikatu", "Maaherrankatu"},
	"Lahti":     {"Aleksanterinkatu", "Vesijärvenkatu", "Hämeenkatu", "Mariankatu", "Saimaankatu"},
	"Pori":      {"Yrjönkatu", "Itsenäisyydenkatu", "Antinkatu", "Isolinnankatu", "Valtakatu"},
	"Vaasa":     {"Hovioikeudenpuistikko", "Kauppapuistikko", "Vaasanpuistikko", "Pitkäkatu"},
	"Rovaniemi": {"Koskikatu", "Valtakatu", "Rovakatu", "Pohjolankatu", "Sampokatu"},
}

// urbanStreets are generic street names of towns.
var urbanStreets = []string{
	"Koulukatu", "Kirkkokatu", "Asemakatu", "Puistokatu", "Kauppakatu", "Torikatu", "Rautatienkatu",
	"Sairaalakatu", "Myllykatu", "Teollisuuskatu", "Satamakatu", "Rantakatu", "Kalevankatu",
	"Sibeliuksenkatu", "Linnankatu", "Väinämöisenkatu", "Ilmarisenkatu", "Tehtaankatu", "Urheilukatu",
	"Kivikatu", "Koivukuja", "Pihlajatie", "Vaahterakuja", "Kuusitie", "Mäntytie", "Lehtikuja",
	"Ruusutie", "Kanervatie", "Kielotie", "Sireenitie", "Tammitie", "Leppäkuja", "Haapatie",
	"Jalavakuja", "Rantatie", "Puistotie",
}

// ruralStreets are generic street names of villages and the countryside.
var ruralStreets = []string{
	"Kirkkotie", "Koulutie", "Asematie", "Pappilantie", "Rantatie", "Mäkitie", "Peltotie", "Niittytie",
	"Metsätie", "Järvitie", "Kalliotie", "Rinnetie", "Urheilutie", "Puistotie", "Myllytie", "Kyläntie",
	"Harjutie", "Kangastie", "Sahantie", "Meijerintie", "Opintie", "Kauppatie", "Raittitie", "Kotitie",
	"Koivukuja", "Kuusitie", "Mäntytie", "Koivutie",
}

// swedishMunicipalities are the mainland municipalities with a Swedish-
// speaking majority (Åland, postal codes 22xxx, is Swedish-speaking too):
// their streets and housing companies get Swedish names.
var swedishMunicipalities = map[string]bool{
	"Närpiö": true, "Mustasaari": true, "Pedersöre": true, "Kruunupyy": true, "Luoto": true,
	"Uusikaarlepyy": true, "Maalahti": true, "Korsnäs": true, "Kristiinankaupunki": true,
	"Kemiönsaari": true, "Parainen": true, "Raasepori": true, "Inkoo": true, "Vöyri": true,
}

// swedishStreets are generic Swedish street names.
var swedishStreets = []string{
	"Skolgatan", "Kyrkogatan", "Storgatan", "Strandgatan", "Torggatan", "Hamngatan", "Nygatan",
	"Strandvägen", "Stationsvägen", "Skolvägen", "Kyrkvägen", "Byvägen", "Björkvägen", "Tallvägen",
	"Granvägen", "Ängsvägen", "Åkervägen", "Kvarnvägen", "Backvägen", "Sjövägen", "Skogsvägen",
	"Lärkvägen", "Rönnvägen", "Parkvägen",
}

// Shop chains for SMARTPOST lockers (which stand at shops) and
// PICKUPPOINT outlets. Metro chains are only in the Helsinki region, big
// store chains only in towns.
var (
	metroChains = []string{"Alepa", "K-Market", "S-Market", "Prisma", "K-Supermarket", "K-Citymarket", "Lidl", "R-kioski", "Sale", "Tokmanni"}
	townChains  = []string{"K-Market", "S-Market", "Prisma", "K-Supermarket", "K-Citymarket", "Lidl", "R-kioski", "Sale", "Tokmanni", "Halpa-Halli"}
	ruralChains = []string{"K-Market", "Sale", "S-Market", "K-Supermarket", "ABC", "Neste", "R-kioski"}
)

// metroMunicipalities have the metro chains.
var metroMunicipalities = map[string]bool{"Helsinki": true, "Espoo": true, "Vantaa": true, "Kauniainen": true}

// transliteration turns letters outside ASCII into the ASCII of ids.
var transliteration = map[rune]string{
	'ä': "A", 'Ä': "A", 'ö': "O", 'Ö': "O", 'å': "A", 'Å': "A", 'é': "E", 'É': "E",
	'ü': "U", 'Ü': "U", 'š': "S", 'Š': "S", 'ž': "Z", 'Ž': "Z",
}
